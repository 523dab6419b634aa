//! Writes a large roster for measuring `zoom-onboard check`: a title row above a header in
//! Google Workspace's spelling, then ROWS hires with distinct emails and accented names, a
//! status column to filter on, and one row in a thousand broken or repeated on purpose.
//!
//! ```sh
//! cargo run --release --example big_roster -- big.csv 1000000
//! /usr/bin/time -v ./target/release/zoom-onboard check big.csv --where "Status=Hired"
//! ```
//!
//! Arguments: the path to write (required) and the number of data rows (1,000,000).

use std::fs::File;
use std::io::{BufWriter, Write};

const FIRST_NAMES: [&str; 8] = [
    "Ann", "Björn", "Chloé", "Dmitri", "Eun-ji", "Fatima", "Gaël", "Hana",
];
const LAST_NAMES: [&str; 8] = [
    "Lee",
    "Ångström",
    "Núñez",
    "O'Brien",
    "Kowalski",
    "Nakamura",
    "Dubois",
    "Okafor",
];

fn main() -> std::io::Result<()> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = arguments.first() else {
        eprintln!("usage: big_roster PATH [ROWS]");
        std::process::exit(2);
    };
    let rows: u64 = arguments
        .get(1)
        .map_or(Ok(1_000_000), |text| text.parse())
        .expect("ROWS is a whole number");

    let mut out = BufWriter::new(File::create(path)?);
    writeln!(out, "New hires export,,,,")?;
    writeln!(
        out,
        "Email Address [Required],First Name [Required],Last Name [Required],Department,Status"
    )?;
    for index in 0..rows {
        let first = FIRST_NAMES[(index % 8) as usize];
        let last = LAST_NAMES[(index / 8 % 8) as usize];
        let status = if index % 10 == 0 { "Left" } else { "Hired" };
        let email = match index % 1000 {
            // A broken address and a repeat of the row before, once in a thousand rows each.
            999 => format!("hire{index}.example.com"),
            998 => format!("hire{}@example.com", index - 1),
            _ => format!("hire{index}@example.com"),
        };
        writeln!(
            out,
            "{email},{first},\"{last}\",Dept {},{status}",
            index % 40
        )?;
    }
    out.flush()
}
