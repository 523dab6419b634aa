//! The sandbox: a stand-in for Zoom's user endpoints. (Being written.)

/// The `zoom-onboard sandbox` options.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {}

/// Serves the sandbox until Ctrl-C.
#[expect(clippy::unused_async, reason = "placeholder until the sandbox lands")]
pub async fn serve(_args: SandboxArgs) -> anyhow::Result<()> {
    anyhow::bail!("the sandbox is not written yet")
}
