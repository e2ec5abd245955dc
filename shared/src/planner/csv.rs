//! CSV for keyword export and import (RFC 4180: quoted fields, doubled quotes, CRLF or LF), and
//! the `multipart/form-data` upload the import receives.

use std::collections::HashMap;

/// One CSV line from `fields`, quoted where needed, ending in CRLF.
pub fn line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut out = String::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let field = field.as_ref();
        // A leading =, +, - or @ would run as a formula in a spreadsheet: quote it as text.
        let formula = field.starts_with(['=', '+', '-', '@']) && field.parse::<f64>().is_err();
        if formula || field.contains([',', '"', '\n', '\r']) {
            out.push('"');
            if formula {
                out.push('\'');
            }
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push_str("\r\n");
    out
}

/// The records of a CSV text, each a list of fields. A quote left open is an error.
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n' | '\r') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("A quoted field is not closed.".into());
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows.retain(|r| !(r.len() == 1 && r[0].trim().is_empty()));
    Ok(rows)
}

/// An uploaded form: its text fields and its first file's bytes.
#[derive(Debug, Default, PartialEq)]
pub struct Form {
    pub fields: HashMap<String, String>,
    pub file: Option<Vec<u8>>,
}

/// Parses a `multipart/form-data` body with the boundary of `content_type`.
pub fn multipart(content_type: &str, body: &[u8]) -> Result<Form, String> {
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or("The multipart body names no boundary.")?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut form = Form::default();
    let mut parts = split(body, &delimiter).into_iter().skip(1);
    for part in parts.by_ref() {
        if part.starts_with(b"--") {
            break;
        }
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(split_at) = find(part, b"\r\n\r\n") else {
            return Err("A multipart part has no headers.".into());
        };
        let headers = String::from_utf8_lossy(&part[..split_at]).to_string();
        let content = &part[split_at + 4..];
        let disposition = headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .unwrap_or_default()
            .to_owned();
        let param = |name: &str| {
            disposition
                .split(';')
                .map(str::trim)
                .find_map(|p| p.strip_prefix(&format!("{name}=")))
                .map(|v| v.trim_matches('"').to_owned())
        };
        if param("filename").is_some() {
            if form.file.is_none() {
                form.file = Some(content.to_vec());
            }
        } else if let Some(name) = param("name") {
            form.fields.insert(name, String::from_utf8_lossy(content).trim().to_owned());
        }
    }
    Ok(form)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(at) = find(body, delimiter) {
        out.push(&body[..at]);
        body = &body[at + delimiter.len()..];
    }
    out.push(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_through_the_parser() {
        let rows = [vec!["keyword", "volume"], vec!["implants, dental", "10"], vec!["say \"hi\"\nthere", "5"]];
        let text: String = rows.iter().map(|r| line(r)).collect();
        assert_eq!(
            parse(&text).unwrap(),
            rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect::<Vec<_>>()).collect::<Vec<_>>()
        );
        assert_eq!(line(&["=HYPERLINK(1)", "-5"]), "\"'=HYPERLINK(1)\",-5\r\n");
        assert!(parse("a,\"open\n").is_err());
        assert_eq!(parse("\u{feff}a,b\n\n1,2").unwrap(), vec![vec!["a", "b"], vec!["1", "2"]]);
    }

    #[test]
    fn multipart_fields_and_file() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"sector_id\"\r\n\r\nabc\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"k.csv\"\r\nContent-Type: text/csv\r\n\r\nkeyword\r\nimplants\r\n\r\n--XyZ--\r\n";
        let form = multipart("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(form.fields["sector_id"], "abc");
        assert_eq!(form.file.unwrap(), b"keyword\r\nimplants\r\n");
        assert!(multipart("multipart/form-data", body).is_err());
    }
}
