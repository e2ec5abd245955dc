//! The post's HTML: the content's sanitised HTML with its in-article images placed (the image at
//! position `n` closes the `n`-th section, i.e. goes before the `n+1`-th `<h2>`, or at the end),
//! the API's own image URLs (`/api/v1/writer/images/<id>/file/`) rewritten to the uploaded files,
//! and a marker comment that lets a retry recognise the post it made.

/// A placed image: its position among the in-article images, its address and its alt text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub position: u32,
    pub url: String,
    pub alt: String,
}

/// The comment at the start of a post that says which record made it (WordPress keeps HTML
/// comments, as it keeps its own block comments).
pub fn marker(record_id: &str) -> String {
    format!("<!-- igny8:{record_id} -->")
}

fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

fn figure(image: &Placed) -> String {
    format!(
        r#"<figure class="igny8-image"><img src="{}" alt="{}"></figure>"#,
        escape_attribute(&image.url),
        escape_attribute(&image.alt)
    )
}

/// Byte offsets of every `<h2` (any case) that opens a tag.
fn section_starts(html: &str) -> Vec<usize> {
    let lower = html.to_ascii_lowercase();
    lower
        .match_indices("<h2")
        .filter(|(i, _)| lower[i + 3..].starts_with(['>', ' ', '\t', '\n', '/']))
        .map(|(i, _)| i)
        .collect()
}

/// Places `images` in `html` and rewrites the API's URLs of `uploaded` (image id → URL).
pub fn compose(html: &str, record_id: &str, images: &[Placed], uploaded: &[(String, String)]) -> String {
    let mut body = html.to_owned();
    for (image_id, url) in uploaded {
        let ours = format!("/api/v1/writer/images/{image_id}/file/");
        body = rewrite_sources(&body, &ours, url);
    }
    let starts = section_starts(&body);
    // Insert from the end so that earlier offsets stay true.
    let mut inserts: Vec<(usize, u32, String)> = images
        .iter()
        .map(|image| {
            let at = starts.get(image.position as usize).copied().unwrap_or(body.len());
            (at, image.position, figure(image))
        })
        .collect();
    // Last place first, and at one place the highest position first, so that each insert leaves
    // the offsets still to come true and images at one place end in their order.
    inserts.sort_by_key(|(at, position, _)| std::cmp::Reverse((*at, *position)));
    for (at, _, figure) in inserts {
        body.insert_str(at, &figure);
    }
    format!("{}\n{body}", marker(record_id))
}

/// Every `src="…"` whose value contains `ours` becomes `src="<to>"`.
fn rewrite_sources(html: &str, ours: &str, to: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("src=\"") {
        let value_start = start + 5;
        let Some(len) = rest[value_start..].find('"') else { break };
        let value = &rest[value_start..value_start + len];
        out.push_str(&rest[..value_start]);
        if value.contains(ours) {
            out.push_str(&escape_attribute(to))
        } else {
            out.push_str(value)
        }
        rest = &rest[value_start + len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(position: u32, url: &str) -> Placed {
        Placed { position, url: url.into(), alt: "A \"quoted\" alt".into() }
    }

    #[test]
    fn in_article_images_close_their_sections_and_the_rest_go_last() {
        let html = "<p>Intro</p><h2>One</h2><p>a</p><H2 class=\"x\">Two</H2><p>b</p><h2x>not a heading</h2x>";
        let out = compose(
            html,
            "r1",
            &[placed(1, "https://wp/1.png"), placed(2, "https://wp/2.png"), placed(5, "https://wp/5.png")],
            &[],
        );
        assert!(out.starts_with("<!-- igny8:r1 -->\n<p>Intro</p><h2>One</h2><p>a</p><figure"), "{out}");
        let one = out.find("https://wp/1.png").unwrap();
        let two_heading = out.find("<H2").unwrap();
        let two = out.find("https://wp/2.png").unwrap();
        let five = out.find("https://wp/5.png").unwrap();
        assert!(one < two_heading && two_heading < two && two < five, "{out}");
        assert!(out.ends_with("</figure>"), "{out}");
        assert!(out.contains("alt=\"A &quot;quoted&quot; alt\""), "{out}");
    }

    #[test]
    fn the_apis_image_urls_become_the_uploaded_ones() {
        let html = r#"<p><img src="https://api.example/api/v1/writer/images/abc/file/" alt="x"><img src="https://elsewhere/y.png"></p>"#;
        let out = compose(html, "r", &[], &[("abc".into(), "https://wp/uploads/abc.png".into())]);
        assert!(out.contains(r#"src="https://wp/uploads/abc.png""#), "{out}");
        assert!(out.contains(r#"src="https://elsewhere/y.png""#), "{out}");
    }
}
