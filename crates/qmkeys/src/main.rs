#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    qmkeys::cli::main()
}
