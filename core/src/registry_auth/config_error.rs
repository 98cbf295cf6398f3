//! What is wrong with a dockerconfigjson document that does not parse, in words that quote
//! nothing of it. serde's messages quote values (`invalid type: string "hunter2", expected a
//! map`), and the document is a Secret: only the kind of defect and its place are said.

/// The defect of a document that failed to parse: its kind, line and column, and the shape
/// expected. Never any of the document's text.
pub fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", e.line(), e.column());
    match e.classify() {
        Category::Syntax => format!("it is not JSON (syntax error at {at})"),
        Category::Eof => format!("it is not JSON (it ends early, at {at})"),
        Category::Data => format!(
            "a value has the wrong type at {at}; expected {{\"auths\": {{\"HOST\": {{\"auth\": \
             \"BASE64(user:password)\"}}}}}} or {{\"username\": \"…\", \"password\": \"…\"}} \
             per host, all strings"
        ),
        Category::Io => "it could not be read".to_string(),
    }
}
