//! A minimal XML writer for Open311 responses: UTF-8 with a declaration, escaped text, and
//! characters XML 1.0 cannot carry dropped.

/// Builds one XML document.
#[derive(Debug)]
pub struct XmlWriter {
    out: String,
}

impl Default for XmlWriter {
    fn default() -> Self {
        XmlWriter { out: String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n") }
    }
}

/// Appends `text` escaped for element content, leaving out characters XML 1.0 forbids.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

impl XmlWriter {
    /// Opens `<tag>`.
    pub fn open(&mut self, tag: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// Closes `</tag>`.
    pub fn close(&mut self, tag: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// `<tag>text</tag>`, or `<tag/>` when there is no text.
    pub fn leaf(&mut self, tag: &str, text: Option<&str>) -> &mut Self {
        match text {
            Some(t) => {
                self.open(tag);
                escape_into(&mut self.out, t);
                self.close(tag)
            }
            None => {
                self.out.push('<');
                self.out.push_str(tag);
                self.out.push_str("/>");
                self
            }
        }
    }

    /// The document.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_illegal_characters_dropped() {
        let mut w = XmlWriter::default();
        w.open("a").leaf("b", Some("<script>&\"x\u{1}y'")).leaf("c", None).close("a");
        assert_eq!(
            w.finish(),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<a><b>&lt;script&gt;&amp;&quot;xy&apos;</b><c/></a>"
        );
    }
}
