//! The last lines of a build's log, kept for `status.logTail`: bounded in lines and bytes, each
//! line cut to 400 characters.

use std::collections::VecDeque;

/// Lines of build log kept for `status.logTail`.
const TAIL_LINES: usize = 30;
const TAIL_BYTES: usize = 4096;

/// The last lines of a log.
#[derive(Debug, Default, Clone)]
pub struct LogTail(VecDeque<String>);

impl LogTail {
    pub fn push(&mut self, chunk: &str) {
        for line in chunk.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
            if self.0.len() == TAIL_LINES {
                self.0.pop_front();
            }
            self.0.push_back(line.chars().take(400).collect());
        }
    }
    pub fn text(&self) -> String {
        let all: Vec<&str> = self.0.iter().map(String::as_str).collect();
        let s = all.join("\n");
        let cut = s.len().saturating_sub(TAIL_BYTES);
        let start = (cut..=s.len())
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(s.len());
        s[start..].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let mut t = LogTail::default();
        for i in 0..100 {
            t.push(&format!("Step {i}\n\n"));
        }
        let text = t.text();
        assert_eq!(text.lines().count(), TAIL_LINES);
        assert!(text.ends_with("Step 99"));
        assert!(text.starts_with("Step 70"));
        let mut big = LogTail::default();
        big.push(&"é".repeat(10_000));
        assert!(big.text().len() <= TAIL_BYTES);
    }
}
