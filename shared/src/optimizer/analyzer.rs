//! The content analyzer: deterministic scores of a content's SEO quality, each dimension 0–100
//! with the reason for it, and their mean as the total. No model is asked, nothing is charged.
//!
//! | dimension | 100 when |
//! |---|---|
//! | `keyword_in_title` | the primary keyword is in the title or meta title |
//! | `keyword_in_intro` | it is in the first paragraph |
//! | `keyword_in_headings` | it is in an `h2`–`h4` |
//! | `keyword_density` | it makes 0.5–2.5 % of the words (less scales down, more loses 40 a point) |
//! | `heading_structure` | two or more `h2`, no `h1` in the body, no level skipped |
//! | `meta_title_length` | 30–60 characters |
//! | `meta_description_length` | 120–160 characters |
//! | `readability` | Flesch reading ease 60 or more (0 at 0, linear between) |
//! | `word_count` | within 90–120 % of the task's target (without a target: 800 words or more) |
//! | `internal_links` | two or more links to the site's own content |
//! | `image_alt` | every image has alt text (no image: 50) |

use serde::{Deserialize, Serialize};

/// What the analyzer reads of a content.
#[derive(Debug, Clone, Default)]
pub struct Input<'a> {
    pub title: &'a str,
    pub meta_title: &'a str,
    pub meta_description: &'a str,
    pub html: &'a str,
    pub keyword: &'a str,
    /// The words the task asked for.
    pub target_words: Option<u32>,
    /// The linker's links in it.
    pub internal_links: usize,
}

/// One dimension's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dimension {
    pub name: String,
    /// 0–100.
    pub score: u32,
    pub reason: String,
}

/// Every dimension and their mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scores {
    /// The mean of the dimensions, 0–100.
    pub total: u32,
    pub dimensions: Vec<Dimension>,
}

impl Scores {
    /// As stored on the content (`optimization_scores`): `total`, and each dimension's score.
    pub fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        map.insert("total".into(), self.total.into());
        for d in &self.dimensions {
            map.insert(d.name.clone(), serde_json::json!({"score": d.score, "reason": d.reason}));
        }
        map
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.dimensions.iter().find(|d| d.name == name).map(|d| d.score)
    }
}

fn clamp(score: f64) -> u32 {
    score.round().clamp(0.0, 100.0) as u32
}

fn text_of(html: &str) -> String {
    crate::writer::word_text(html)
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'').filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// The inner HTML of every `<tag ...>...</tag>` (lower-case tag names).
fn elements<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find(&open) {
        let start = from + i;
        let after = &lower[start + open.len()..];
        if !after.starts_with(['>', ' ', '\n', '\t']) {
            from = start + open.len();
            continue;
        }
        let Some(gt) = lower[start..].find('>') else { break };
        let body = start + gt + 1;
        let end = lower[body..].find(&close).map_or(html.len(), |e| body + e);
        out.push(&html[body..end]);
        from = end;
    }
    out
}

fn contains_phrase(text: &str, phrase: &[String]) -> bool {
    !phrase.is_empty() && words(text).windows(phrase.len()).any(|w| w == phrase)
}

fn occurrences(all: &[String], phrase: &[String]) -> usize {
    if phrase.is_empty() { 0 } else { all.windows(phrase.len()).filter(|w| *w == phrase).count() }
}

/// Vowel groups of a word, at least one: the usual estimate of its syllables.
fn syllables(word: &str) -> usize {
    let mut count = 0;
    let mut previous = false;
    for c in word.chars() {
        let vowel = "aeiouy".contains(c);
        if vowel && !previous {
            count += 1;
        }
        previous = vowel;
    }
    if word.ends_with('e') && count > 1 {
        count -= 1;
    }
    count.max(1)
}

/// Flesch reading ease of `text`.
pub fn flesch(text: &str) -> f64 {
    let all = words(text);
    if all.is_empty() {
        return 0.0;
    }
    let sentences = text.split(['.', '!', '?']).filter(|s| s.chars().any(char::is_alphanumeric)).count().max(1);
    let syllables: usize = all.iter().map(|w| syllables(w)).sum();
    206.835 - 1.015 * (all.len() as f64 / sentences as f64) - 84.6 * (syllables as f64 / all.len() as f64)
}

fn length_score(len: usize, low: usize, high: usize) -> u32 {
    if len == 0 {
        0
    } else if len < low {
        clamp(100.0 * len as f64 / low as f64)
    } else if len > high {
        clamp(100.0 - 100.0 * (len - high) as f64 / high as f64)
    } else {
        100
    }
}

/// Scores `input`.
pub fn analyze(input: &Input<'_>) -> Scores {
    let text = text_of(input.html);
    let all = words(&text);
    let keyword = words(input.keyword);
    let mut dimensions = Vec::new();
    let mut push =
        |name: &str, score: u32, reason: String| dimensions.push(Dimension { name: name.to_owned(), score, reason });
    let no_keyword = || "No primary keyword is set.".to_owned();

    if keyword.is_empty() {
        push("keyword_in_title", 0, no_keyword());
        push("keyword_in_intro", 0, no_keyword());
        push("keyword_in_headings", 0, no_keyword());
        push("keyword_density", 0, no_keyword());
    } else {
        let in_title = contains_phrase(input.title, &keyword) || contains_phrase(input.meta_title, &keyword);
        push(
            "keyword_in_title",
            if in_title { 100 } else { 0 },
            if in_title { "The keyword is in the title." } else { "The keyword is not in the title or meta title." }
                .into(),
        );
        let intro = elements(input.html, "p").first().map(|p| text_of(p)).unwrap_or_default();
        let in_intro = contains_phrase(&intro, &keyword);
        push(
            "keyword_in_intro",
            if in_intro { 100 } else { 0 },
            if in_intro {
                "The keyword is in the first paragraph."
            } else {
                "The keyword is not in the first paragraph."
            }
            .into(),
        );
        let headings: Vec<&str> = ["h2", "h3", "h4"].iter().flat_map(|h| elements(input.html, h)).collect();
        let in_heading = headings.iter().any(|h| contains_phrase(&text_of(h), &keyword));
        push(
            "keyword_in_headings",
            if in_heading { 100 } else { 0 },
            if in_heading { "The keyword is in a heading." } else { "No subheading holds the keyword." }.into(),
        );
        let density = if all.is_empty() {
            0.0
        } else {
            100.0 * (occurrences(&all, &keyword) * keyword.len()) as f64 / all.len() as f64
        };
        let score = if density < 0.5 {
            clamp(100.0 * density / 0.5)
        } else if density > 2.5 {
            clamp(100.0 - (density - 2.5) * 40.0)
        } else {
            100
        };
        push("keyword_density", score, format!("The keyword makes {density:.1}% of the words (0.5–2.5% is best)."));
    }

    let h1 = elements(input.html, "h1").len();
    let h2 = elements(input.html, "h2").len();
    let h3 = elements(input.html, "h3").len();
    let h4 = elements(input.html, "h4").len();
    let mut structure: i64 = match h2 {
        0 => 0,
        1 => 60,
        _ => 100,
    };
    let mut why = format!("{h2} h2 headings");
    if h1 > 0 {
        structure -= 30;
        why.push_str("; an h1 in the body (the title is the h1)");
    }
    if (h3 > 0 && h2 == 0) || (h4 > 0 && h3 == 0) {
        structure -= 20;
        why.push_str("; a heading level is skipped");
    }
    push("heading_structure", clamp(structure as f64), format!("{why}."));

    let meta_title = input.meta_title.trim().chars().count();
    push(
        "meta_title_length",
        length_score(meta_title, 30, 60),
        format!("The meta title has {meta_title} characters (30–60 is best)."),
    );
    let meta_description = input.meta_description.trim().chars().count();
    push(
        "meta_description_length",
        length_score(meta_description, 120, 160),
        format!("The meta description has {meta_description} characters (120–160 is best)."),
    );

    let ease = flesch(&text);
    push(
        "readability",
        clamp(ease / 60.0 * 100.0),
        format!("Flesch reading ease {ease:.0} (60 or more reads easily)."),
    );

    let count = all.len() as f64;
    let (score, reason) = match input.target_words.filter(|t| *t > 0) {
        Some(target) => {
            let ratio = count / f64::from(target);
            let score = if (0.9..=1.2).contains(&ratio) {
                100
            } else if ratio < 0.9 {
                clamp(100.0 * ratio / 0.9)
            } else {
                clamp(100.0 - (ratio - 1.2) * 100.0)
            };
            (score, format!("{count} words for a target of {target}."))
        }
        None => (clamp(100.0 * count / 800.0), format!("{count} words (800 or more without a target).")),
    };
    push("word_count", score, reason);

    let links = input.internal_links;
    push(
        "internal_links",
        match links {
            0 => 0,
            1 => 60,
            _ => 100,
        },
        format!("{links} internal links (2 or more is best)."),
    );

    let images = {
        let lower = input.html.to_ascii_lowercase();
        let tags: Vec<&str> = lower
            .match_indices("<img")
            .map(|(i, _)| &lower[i..lower[i..].find('>').map_or(lower.len(), |e| i + e)])
            .collect();
        let with_alt = tags.iter().filter(|t| t.find("alt=\"").is_some_and(|a| !t[a + 5..].starts_with('"'))).count();
        (tags.len(), with_alt)
    };
    match images {
        (0, _) => push("image_alt", 50, "No images.".into()),
        (n, alt) => {
            push("image_alt", clamp(100.0 * alt as f64 / n as f64), format!("{alt} of {n} images have alt text."))
        }
    }

    let total = clamp(dimensions.iter().map(|d| f64::from(d.score)).sum::<f64>() / dimensions.len() as f64);
    Scores { total, dimensions }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "<p>Dental implants replace lost teeth. This guide to dental implants is short.</p>\
        <h2>Why dental implants work</h2><p>They fit well. They last long. Care is simple.</p>\
        <h2>Costs</h2><p>Prices vary by clinic. Ask first.</p>\
        <p><img src=\"/a.png\" alt=\"An implant\"></p>";

    fn good() -> Input<'static> {
        Input {
            title: "Dental implants: a short guide",
            meta_title: "Dental implants explained simply for patients",
            meta_description: "What dental implants are, why they work, what they cost, and how to care for them: a short, plain guide for patients weighing them.",
            html: GOOD,
            keyword: "dental implants",
            target_words: Some(40),
            internal_links: 2,
        }
    }

    #[test]
    fn good_content_scores_full_marks_where_it_should() {
        let s = analyze(&good());
        for name in [
            "keyword_in_title",
            "keyword_in_intro",
            "keyword_in_headings",
            "heading_structure",
            "meta_title_length",
            "meta_description_length",
            "internal_links",
            "image_alt",
        ] {
            assert_eq!(s.get(name), Some(100), "{name}: {s:?}");
        }
        assert!(s.get("readability").unwrap() > 60, "{s:?}");
        assert_eq!(s.dimensions.len(), 11);
        assert!(s.total >= 80, "{s:?}");
    }

    #[test]
    fn each_dimension_can_fail() {
        let mut bad = good();
        bad.title = "A short guide";
        bad.meta_title = "Short";
        bad.meta_description = "";
        bad.internal_links = 0;
        bad.target_words = Some(400);
        let html = "<h1>Top</h1><p>Intro without it.</p><h4>Skipped</h4><p><img src=\"/b.png\"></p>";
        bad.html = html;
        let s = analyze(&bad);
        assert_eq!(s.get("keyword_in_title"), Some(0));
        assert_eq!(s.get("keyword_in_intro"), Some(0));
        assert_eq!(s.get("keyword_in_headings"), Some(0));
        assert_eq!(s.get("keyword_density"), Some(0));
        assert_eq!(s.get("heading_structure"), Some(0), "no h2, an h1, a skipped level");
        assert!(s.get("meta_title_length").unwrap() < 20);
        assert_eq!(s.get("meta_description_length"), Some(0));
        assert!(s.get("word_count").unwrap() < 10);
        assert_eq!(s.get("internal_links"), Some(0));
        assert_eq!(s.get("image_alt"), Some(0));
        assert!(s.total < 30, "{s:?}");
    }

    #[test]
    fn stuffing_and_hard_prose_lose_points() {
        let stuffed =
            Input { html: "<p>implants implants implants implants dental implants</p>", keyword: "implants", ..good() };
        assert!(analyze(&stuffed).get("keyword_density").unwrap() == 0, "{:?}", analyze(&stuffed));
        assert!(flesch("The cat sat. The dog ran.") > 90.0);
        assert!(
            flesch(
                "Notwithstanding institutional considerations, interdisciplinary collaboration necessitates comprehensive organizational restructuring."
            ) < 0.0
        );
        let none = Input { keyword: "", ..good() };
        assert_eq!(analyze(&none).get("keyword_in_title"), Some(0));
        assert!(analyze(&none).dimensions[0].reason.contains("No primary keyword"));
    }
}
