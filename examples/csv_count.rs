//! Counts the records of a CSV file with the `csv` crate and nothing else: the floor that
//! `zoom-onboard check` is measured against.
//!
//! ```sh
//! cargo run --release --example csv_count -- roster.csv
//! ```
//!
//! It reads every record into one reused `ByteRecord`, so it pays for parsing and not for
//! allocation or UTF-8 checks: the fastest way the crate offers to see every field.

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: csv_count FILE");
        std::process::exit(2);
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(&path)
        .unwrap_or_else(|error| panic!("cannot open {path}: {error}"));
    let mut record = csv::ByteRecord::new();
    let mut records = 0_u64;
    while reader
        .read_byte_record(&mut record)
        .unwrap_or_else(|error| panic!("cannot read {path}: {error}"))
    {
        records += 1;
    }
    println!("{records}");
}
