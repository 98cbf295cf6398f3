//! `mosaic-webhook` entry point: wires the library and maps the outcome to an exit code.

fn main() -> std::process::ExitCode {
    mosaic_webhook::run()
}
