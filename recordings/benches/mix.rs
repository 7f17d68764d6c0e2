//! Benchmark of the live audio mix (filled in with the mixer).

fn main() {}
