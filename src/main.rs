fn main() {
    std::process::exit(odoo_channels::cli::main());
}
