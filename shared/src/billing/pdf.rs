//! A one-page PDF invoice, written directly (PDF 1.4, the standard Helvetica fonts, an exact
//! cross-reference table): small, dependency-free, and readable by any PDF reader.

use super::Invoice;

/// Text as a PDF string literal: ASCII only, with `\`, `(` and `)` escaped.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('(');
    for c in text.chars() {
        match c {
            '\\' | '(' | ')' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push(')');
    out
}

/// The page's drawing commands: `(font, size, x, y, text)` lines.
fn content(lines: &[(&str, u32, u32, u32, String)]) -> String {
    let mut stream = String::new();
    for (font, size, x, y, text) in lines {
        stream.push_str(&format!("BT /{font} {size} Tf {x} {y} Td {} Tj ET\n", literal(text)));
    }
    // A rule under the header.
    stream.push_str("0.5 w 50 700 m 545 700 l S\n");
    stream
}

/// Assembles objects into a PDF file with its cross-reference table.
fn document(objects: &[String]) -> Vec<u8> {
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info {} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1,
            objects.len()
        )
        .as_bytes(),
    );
    out
}

/// The invoice as a PDF.
pub fn invoice(invoice: &Invoice, account_name: &str) -> Vec<u8> {
    let status =
        serde_json::to_value(invoice.status).ok().and_then(|v| v.as_str().map(str::to_uppercase)).unwrap_or_default();
    let date = |t: time::OffsetDateTime| format!("{}-{:02}-{:02}", t.year(), t.month() as u8, t.day());
    let mut lines = vec![
        ("F2", 22, 50, 760, "IGNY8".to_owned()),
        ("F1", 10, 50, 744, "AI content platform".to_owned()),
        ("F2", 18, 400, 760, "INVOICE".to_owned()),
        ("F1", 10, 400, 744, format!("No. {}", invoice.number)),
        ("F1", 10, 400, 730, format!("Date {}", date(invoice.created_at))),
        ("F1", 10, 400, 716, format!("Status {status}")),
        ("F2", 11, 50, 670, "Billed to".to_owned()),
        ("F1", 11, 50, 654, account_name.to_owned()),
        ("F1", 9, 50, 640, format!("Account {}", invoice.account_id)),
        ("F2", 11, 50, 600, "Description".to_owned()),
        ("F2", 11, 330, 600, "Credits".to_owned()),
        ("F2", 11, 450, 600, "Amount".to_owned()),
        ("F1", 11, 50, 580, invoice.description.clone()),
        ("F1", 11, 330, 580, invoice.credits.to_string()),
        ("F1", 11, 450, 580, format!("{} {}", invoice.amount, invoice.currency)),
        ("F2", 12, 330, 540, "Total".to_owned()),
        ("F2", 12, 450, 540, format!("{} {}", invoice.amount, invoice.currency)),
    ];
    if let Some(paid) = invoice.paid_at {
        lines.push(("F1", 10, 50, 500, format!("Paid on {}. Thank you.", date(paid))));
    } else {
        lines.push(("F1", 10, 50, 500, format!("Please pay with the reference {}.", invoice.number)));
    }
    let stream = content(&lines);
    let objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}endstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_owned(),
        format!("<< /Title {} /Producer (IGNY8) >>", literal(&format!("Invoice {}", invoice.number))),
    ];
    document(&objects)
}

#[cfg(test)]
mod tests {
    #[test]
    fn literals_are_escaped_and_ascii() {
        assert_eq!(super::literal("a (b) \\ é"), "(a \\(b\\) \\\\ ?)");
    }
}
