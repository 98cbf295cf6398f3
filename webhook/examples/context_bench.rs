//! Context-streaming benchmark: throughput and peak memory of the tarball → build-context
//! restreamer on a large GitHub-shaped tarball, to compare with `gzip -dc | tar -t`.
//!
//! `cargo run -p mosaic-webhook --release --example context_bench -- gen FILE MIB` writes a
//! tarball of about MIB MiB of poorly compressible files; `… -- run FILE` restreams it into a
//! byte-counting sink and prints one JSON line (seconds, MiB/s, peak RSS in KiB).

use std::io::{self, Write};
use std::time::Instant;

use mosaic_webhook::context::{ContextSpec, restream};

/// A deterministic, poorly compressible byte stream (xorshift).
struct Noise(u64, u64);

impl io::Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.1 as usize);
        for chunk in buf[..n].chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            let b = self.0.to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
        self.1 -= n as u64;
        Ok(n)
    }
}

struct Count(u64);

impl Write for Count {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn generate(path: &str, mib: u64) -> io::Result<()> {
    let file = io::BufWriter::new(std::fs::File::create(path)?);
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::fast(),
    ));
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let rec = format!("52 comment={sha}\n");
    let mut h = tar::Header::new_ustar();
    h.set_path("pax_global_header")?;
    h.set_entry_type(tar::EntryType::XGlobalHeader);
    h.set_size(rec.len() as u64);
    h.set_cksum();
    b.append(&h, rec.as_bytes())?;
    let top = "acme-app-0123456";
    let mut add = |path: String, size: u64, seed: u64| -> io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(0o644);
        b.append_data(&mut h, path, Noise(seed | 1, size))
    };
    add(format!("{top}/Dockerfile"), 64, 1)?;
    // Half the bytes in one large file, the rest in 4 KiB files (a source tree's shape).
    let total = mib << 20;
    add(format!("{top}/assets/big.bin"), total / 2, 7)?;
    for i in 0..(total / 2) / 4096 {
        add(format!("{top}/src/m{}/f{i}.txt", i % 64), 4096, i + 11)?;
    }
    b.into_inner()?.finish()?.flush()
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("gen") if args.len() == 4 => {
            let mib = args[3]
                .parse()
                .map_err(|e| io::Error::other(format!("MIB: {e}")))?;
            generate(&args[2], mib)
        }
        Some("run") if args.len() == 3 => {
            let size = std::fs::metadata(&args[2])?.len();
            let file = io::BufReader::with_capacity(64 * 1024, std::fs::File::open(&args[2])?);
            let spec = ContextSpec::new(".", "Dockerfile").map_err(io::Error::other)?;
            let mut out = Count(0);
            let t = Instant::now();
            let summary = restream(file, &mut out, &spec, None, None).map_err(io::Error::other)?;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "{{\"tarball_mib\":{:.1},\"content_mib\":{:.1},\"entries\":{},\"seconds\":{secs:.3},\"content_mib_per_s\":{:.1},\"peak_rss_kib\":{}}}",
                size as f64 / 1048576.0,
                summary.bytes as f64 / 1048576.0,
                summary.entries,
                summary.bytes as f64 / 1048576.0 / secs,
                peak_rss_kib()
            );
            Ok(())
        }
        _ => {
            eprintln!("usage: context_bench gen FILE MIB | context_bench run FILE");
            std::process::exit(2)
        }
    }
}
