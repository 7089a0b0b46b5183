//! The little XML that Amazon still speaks: the order-acknowledgement feed we write and the
//! processing report it answers with.
//!
//! Both are small, flat envelopes, so a tree of elements with their text is all either side
//! needs; namespaces and attributes carry nothing we read. The parser is strict about
//! well-formedness (a truncated or garbled report is an error naming where it broke, never a
//! half-read document taken for a whole one).

use quick_xml::Reader;
use quick_xml::events::Event;

/// One element: its local name, its own text (trimmed), and its child elements in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    /// The first child called `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child called `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the descendant at `path` (child names separated by `/`), if present and
    /// not empty.
    pub fn text_at(&self, path: &str) -> Option<&str> {
        let mut n = self;
        for part in path.split('/') {
            n = n.child(part)?;
        }
        Some(n.text.as_str()).filter(|t| !t.is_empty())
    }
}

/// Parses a whole document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Node, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut reader = Reader::from_str(text.trim_start_matches('\u{feff}'));
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let at = |r: &Reader<&[u8]>| r.buffer_position();
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("at byte {}: {e}", at(&reader)))?;
        match ev {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(format!(
                    "at byte {}: content after the root element",
                    at(&reader)
                ));
            }
            Event::Start(e) => stack.push(Node {
                name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                ..Node::default()
            }),
            Event::Empty(e) => {
                let node = Node {
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Node::default()
                };
                close(&mut stack, &mut root, node);
            }
            Event::End(_) => {
                let mut node = stack
                    .pop()
                    .ok_or_else(|| format!("at byte {}: unbalanced end tag", at(&reader)))?;
                node.text = node.text.trim().to_string();
                close(&mut stack, &mut root, node);
            }
            Event::Text(t) => {
                let s = t
                    .decode()
                    .map_err(|e| format!("at byte {}: {e}", at(&reader)))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                let s = t
                    .decode()
                    .map_err(|e| format!("at byte {}: {e}", at(&reader)))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| format!("at byte {}: {e}", at(&reader)))?
                } else {
                    Some(match &*r {
                        b"lt" => '<',
                        b"gt" => '>',
                        b"amp" => '&',
                        b"quot" => '"',
                        b"apos" => '\'',
                        other => {
                            return Err(format!(
                                "at byte {}: unknown entity &{};",
                                at(&reader),
                                String::from_utf8_lossy(other)
                            ));
                        }
                    })
                };
                if let (Some(c), Some(top)) = (c, stack.last_mut()) {
                    top.text.push(c);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(format!(
            "the document ends inside <{}>",
            stack.last().map(|n| n.name.as_str()).unwrap_or_default()
        ));
    }
    root.ok_or_else(|| "no root element".to_string())
}

fn close(stack: &mut [Node], root: &mut Option<Node>, node: Node) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(node),
        None => *root = Some(node),
    }
}

/// Text made safe for an element's content or an attribute value. Control characters are
/// not allowed in XML 1.0 even escaped: they are dropped.
pub fn escape(s: &str) -> String {
    let clean: String = s
        .chars()
        .filter(|c| (*c as u32) >= 0x20 || matches!(c, '\t' | '\n' | '\r'))
        .collect();
    quick_xml::escape::escape(clean.as_str()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_becomes_a_tree_with_entities_resolved() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
<A xmlns:xsi="x"><B>one &amp; two</B><C/><B> <![CDATA[<raw>]]> &#233;</B></A>"#;
        let n = parse(doc).unwrap();
        assert_eq!(n.name, "A");
        let bs: Vec<&str> = n.all("B").map(|b| b.text.as_str()).collect();
        assert_eq!(bs, ["one & two", "<raw> é"]);
        assert_eq!(n.text_at("B"), Some("one & two"));
        assert_eq!(n.text_at("C"), None);
        assert_eq!(n.text_at("D/E"), None);
    }

    #[test]
    fn broken_documents_are_errors_never_half_trees() {
        for bad in [
            &b"<A><B>x</B>"[..],
            b"<A></B>",
            b"",
            b"<A/><B/>",
            b"<A>&nope;</A>",
            b"\xff\xfe<A/>",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn escape_round_trips_through_the_parser() {
        let s = "Tom & Jerry's <\"shop\">\u{1}";
        let doc = format!("<A>{}</A>", escape(s));
        assert_eq!(
            parse(doc.as_bytes()).unwrap().text,
            "Tom & Jerry's <\"shop\">"
        );
    }
}
