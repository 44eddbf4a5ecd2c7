fn main() {
    std::process::exit(samordna::cli::run());
}
