//! Links put into HTML where a target's phrase occurs in running text: never inside a heading or
//! an existing link, at most one link per target, at most `max` new links, the first occurrence
//! of each phrase taken (whole words, any case). The HTML is the writer's sanitised HTML; the
//! result is sanitised again by the caller.

use crate::writer::InternalLink;

/// A content that may be linked to: its id, its URL, and the phrases that may become its anchor
/// (lower case), best first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: String,
    pub url: String,
    pub phrases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Tag(String),
    Text(String),
}

fn segments(html: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        match rest.find('<') {
            Some(0) => {
                let end = rest.find('>').map_or(rest.len(), |i| i + 1);
                out.push(Segment::Tag(rest[..end].to_owned()));
                rest = &rest[end..];
            }
            Some(i) => {
                out.push(Segment::Text(rest[..i].to_owned()));
                rest = &rest[i..];
            }
            None => {
                out.push(Segment::Text(rest.to_owned()));
                rest = "";
            }
        }
    }
    out
}

/// The tag's name and whether it closes (`</h2>` → `("h2", true)`).
fn tag_name(tag: &str) -> (String, bool) {
    let inner = tag.trim_start_matches('<').trim_end_matches('>').trim();
    let closing = inner.starts_with('/');
    let name: String = inner
        .trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    (name, closing)
}

fn forbidden(name: &str) -> bool {
    matches!(name, "a" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// The byte offset of the first whole-word occurrence of `phrase` (lower case) in `text`.
fn find_phrase(text: &str, phrase: &str) -> Option<usize> {
    if phrase.is_empty() {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(phrase) {
        let start = from + i;
        let end = start + phrase.len();
        let before = lower[..start].chars().next_back();
        let after = lower[end..].chars().next();
        if !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric) {
            return Some(start);
        }
        from = start + lower[start..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// The hrefs of the links already in `html`.
pub fn existing_hrefs(html: &str) -> Vec<String> {
    segments(html)
        .into_iter()
        .filter_map(|s| match s {
            Segment::Tag(tag) if tag_name(&tag) == ("a".to_owned(), false) => {
                let start = tag.find("href=\"")? + 6;
                let len = tag[start..].find('"')?;
                Some(tag[start..start + len].to_owned())
            }
            _ => None,
        })
        .collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Puts links to `targets` (best first) into `html`, at most `max`; answers the new HTML and the
/// links it put.
pub fn inject(html: &str, targets: &[Target], max: usize) -> (String, Vec<InternalLink>) {
    let mut segments = segments(html);
    let mut links = Vec::new();
    for target in targets {
        if links.len() >= max {
            break;
        }
        'phrases: for phrase in &target.phrases {
            let mut depth = 0usize;
            for i in 0..segments.len() {
                match &segments[i] {
                    Segment::Tag(tag) => {
                        let (name, closing) = tag_name(tag);
                        if forbidden(&name) && !tag.ends_with("/>") {
                            depth = if closing { depth.saturating_sub(1) } else { depth + 1 };
                        }
                    }
                    Segment::Text(text) if depth == 0 => {
                        let Some(at) = find_phrase(text, phrase) else { continue };
                        let (before, rest) = text.split_at(at);
                        let (anchor, after) = rest.split_at(phrase.len());
                        let replaced = vec![
                            Segment::Text(before.to_owned()),
                            Segment::Tag(format!("<a href=\"{}\">", escape(&target.url))),
                            Segment::Text(anchor.to_owned()),
                            Segment::Tag("</a>".to_owned()),
                            Segment::Text(after.to_owned()),
                        ];
                        links.push(InternalLink {
                            anchor: anchor.to_owned(),
                            target_id: target.id.clone(),
                            url: target.url.clone(),
                        });
                        segments.splice(i..=i, replaced);
                        break 'phrases;
                    }
                    Segment::Text(_) => {}
                }
            }
        }
    }
    let html = segments.into_iter().map(|s| match s {
        Segment::Tag(t) | Segment::Text(t) => t,
    });
    (html.collect(), links)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: &str, phrase: &str) -> Target {
        Target { id: id.into(), url: format!("/{id}/"), phrases: vec![phrase.into()] }
    }

    #[test]
    fn running_text_is_linked_once_per_target_and_headings_and_links_never() {
        let html = "<h2>Dental implants</h2><p>Read about <a href=\"/x/\">dental implants</a> here.</p>\
                    <p>Our dental implants guide and dental implants again; teeth whitening too.</p>";
        let (out, links) =
            inject(html, &[target("implants", "dental implants"), target("white", "teeth whitening")], 5);
        assert_eq!(links.len(), 2);
        assert_eq!(out.matches("href=\"/implants/\"").count(), 1, "{out}");
        assert!(out.starts_with("<h2>Dental implants</h2><p>Read about <a href=\"/x/\">dental implants</a>"), "{out}");
        assert!(
            out.contains("Our <a href=\"/implants/\">dental implants</a> guide and dental implants again"),
            "{out}"
        );
        assert!(out.contains("<a href=\"/white/\">teeth whitening</a>"), "{out}");
        assert_eq!(links[0].anchor, "dental implants");
    }

    #[test]
    fn whole_words_only_any_case_at_most_max() {
        let html = "<p>Implantsology is not it; IMPLANTS are. Whitening and braces.</p>";
        let (out, links) = inject(html, &[target("a", "implants"), target("b", "whitening"), target("c", "braces")], 2);
        assert_eq!(links.iter().map(|l| l.anchor.as_str()).collect::<Vec<_>>(), ["IMPLANTS", "Whitening"]);
        assert!(out.contains("Implantsology is not it; <a href=\"/a/\">IMPLANTS</a>"), "{out}");
        assert!(!out.contains("/c/"));
    }

    #[test]
    fn nothing_found_changes_nothing_and_hrefs_are_read() {
        let html = "<p>Nothing <a href=\"/known/\">here</a>.</p>";
        assert_eq!(inject(html, &[target("a", "absent")], 5), (html.to_owned(), Vec::new()));
        assert_eq!(existing_hrefs(html), ["/known/"]);
    }
}
