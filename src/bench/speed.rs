//! Benchmark (being written).

pub fn run(_corpus: &std::path::Path) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
