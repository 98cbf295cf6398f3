//! The notes an index gives about input the engine could not use.

use super::Index;

impl Index {
    /// Notes about input the engine could not use.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.unknown_kinds.is_empty() {
            let kinds: Vec<String> = self
                .unknown_kinds
                .iter()
                .map(|(k, n)| format!("{k} ({n})"))
                .collect();
            notes.push(format!(
                "ignored objects of kinds explain does not analyse: {}",
                kinds.join(", ")
            ));
        }
        if self.skipped > 0 {
            notes.push(format!(
                "skipped {} item(s) without kind or metadata.name",
                self.skipped
            ));
        }
        if self.unreadable_count > 0 {
            let more = self.unreadable_count - self.unreadable.len();
            let tail = if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            };
            notes.push(format!(
                "unreadable fields were not analysed (the rest was): {}{tail}",
                self.unreadable.join("; ")
            ));
        }
        if self.unmatched_events > 0 {
            notes.push(format!(
                "{} event(s) concern objects that are not in the input and were not used",
                self.unmatched_events
            ));
        }
        notes
    }
}
