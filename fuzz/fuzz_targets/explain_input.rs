//! Fuzz target: the offline `explain -f` input parser (`ingest::parse_text`: single objects,
//! Lists, multi-document YAML, concatenated JSON, `cluster-info dump` stdout) and, for whatever
//! it accepts, the explain engine itself. Invariants: no panic; every accepted document is a
//! mapping; an error is one line.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match kubectl_mosaic::explain::ingest::parse_text("fuzz.yaml", text) {
        Ok(objects) => {
            assert!(objects.iter().all(serde_json::Value::is_object));
            let now = chrono::DateTime::from_timestamp(1_767_225_600, 0);
            let report = mosaic_core::explain::explain(
                objects,
                &mosaic_core::explain::Options {
                    now,
                    ..Default::default()
                },
            );
            for f in &report.findings {
                assert!(!f.slug.is_empty());
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty());
        }
    }
});
