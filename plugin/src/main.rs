//! `kubectl-mosaic` entry point: wires the library and maps the outcome to an exit code.

fn main() -> std::process::ExitCode {
    kubectl_mosaic::run()
}
