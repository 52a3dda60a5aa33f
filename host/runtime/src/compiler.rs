//! Compiling a plugin in a child process of the host's own binary.
//!
//! Cranelift's working memory (tens of MiB for a plugin with a TLS stack)
//! is freed when a compilation ends, but the allocator keeps most of it
//! resident: a host that compiled its plugins at start held 2 to 3 times
//! the memory of one that loaded them from the compile cache, for good. In
//! a child process that memory goes back to the system when the child
//! exits, and a compiler crash or an out-of-memory kill on a hostile file
//! fails that file's load instead of the host.
//!
//! The protocol is the one of a filter: the component's bytes on the
//! child's stdin, the serialized artifact on its stdout, exit status 0; on
//! failure the reason on stderr and a non-zero status.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use wasmtime::{Engine, Result, format_err};

/// Longest compiler message kept from the child's stderr.
const MAX_MESSAGE_BYTES: usize = 4096;

/// How to start the compiler process: a program (normally the host's own
/// binary) and the arguments that make it run [`worker_main`] with an
/// engine configured like the host's.
#[derive(Debug, Clone)]
pub struct CompileWorker {
    /// The program to run.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

/// Why a compilation in the child did not give an artifact.
#[derive(Debug)]
pub enum WorkerError {
    /// The child could not be started or talked to: compile in process.
    Unavailable(String),
    /// The child ran and refused the component, or died compiling it.
    Failed(String),
}

/// Compiles `bytes` in a child process and returns the artifact. The
/// caller deserializes it with the engine the worker's engine mirrors.
pub fn compile(worker: &CompileWorker, bytes: &[u8]) -> Result<Vec<u8>, WorkerError> {
    let unavailable = |what: &str, e: std::io::Error| {
        WorkerError::Unavailable(format!(
            "{what} the compiler process {}: {e}",
            worker.program.display()
        ))
    };
    let mut child = Command::new(&worker.program)
        .args(&worker.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| unavailable("cannot start", e))?;
    // Feed stdin from a thread so that a child writing a large artifact
    // before it read all of its input cannot deadlock with us.
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = bytes.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let mut stderr = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut message = Vec::new();
        let _ = (&mut stderr)
            .take(MAX_MESSAGE_BYTES as u64)
            .read_to_end(&mut message);
        // Drain the rest so the child never blocks on a full pipe.
        let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        message
    });
    let mut artifact = Vec::new();
    let read = child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_end(&mut artifact);
    let status = child
        .wait()
        .map_err(|e| unavailable("cannot wait for", e))?;
    let fed = feeder.join();
    let message = reader.join().unwrap_or_default();
    let message = String::from_utf8_lossy(&message).trim().to_owned();
    if !status.success() {
        return Err(WorkerError::Failed(if message.is_empty() {
            format!("the compiler process ended with {status}")
        } else {
            message
        }));
    }
    if let Err(e) = read {
        return Err(unavailable("cannot read from", e));
    }
    match fed {
        Ok(Ok(())) => Ok(artifact),
        Ok(Err(e)) => Err(unavailable("cannot write to", e)),
        Err(_) => Err(WorkerError::Unavailable(
            "the thread feeding the compiler process panicked".into(),
        )),
    }
}

/// The child's side: reads a component from stdin, compiles it with
/// `engine` and writes the artifact to stdout. A component that does not
/// compile is an error whose root cause is the message the host reports.
pub fn worker_main(engine: &Engine) -> Result<()> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|e| format_err!("cannot read the component from stdin: {e}"))?;
    let artifact = engine.precompile_component(&bytes)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&artifact)
        .and_then(|()| out.flush())
        .map_err(|e| format_err!("cannot write the artifact to stdout: {e}"))?;
    Ok(())
}
