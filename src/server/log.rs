//! The default request log: one line a request on stderr, written by a thread of its
//! own.
//!
//! Writing each line from the request's thread (`eprintln!`) cost a `write` call a
//! request, under stderr's lock: 11% of the time of `serve` answering gets from a
//! 10,000-contact file under load (`perf record`). Here the network thread only formats
//! the line and queues it; the log thread writes whatever has queued in one go and
//! flushes when the queue is empty, so that a line reaches stderr as soon as the thread
//! gets to it, and a burst costs one `write` for many lines. The queue is bounded: when
//! stderr cannot keep up, requests wait for it as they did for `eprintln!`, and memory
//! stays bounded. Lines still queued when the log is dropped (the server stopped) are
//! written before the drop returns.

use std::io::Write;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::OnceLock;
use std::thread::JoinHandle;

/// Lines queued at most before a request waits for the log thread.
const QUEUED_LINES: usize = 4_096;

/// The log thread, started with the first line: its queue and its handle (`None` if
/// no thread could be started).
#[derive(Default)]
pub(crate) struct StderrLog {
    thread: OnceLock<Option<(SyncSender<String>, JoinHandle<()>)>>,
}

impl StderrLog {
    /// Queues `line` (without its newline) for stderr.
    pub(crate) fn write(&self, line: String) {
        match self.thread.get_or_init(start) {
            Some((queue, _)) => {
                if let Err(unsent) = queue.send(line) {
                    eprintln!("{}", unsent.0);
                }
            }
            // No thread could be started: write it here.
            None => eprintln!("{line}"),
        }
    }
}

fn start() -> Option<(SyncSender<String>, JoinHandle<()>)> {
    let (queue, lines) = sync_channel(QUEUED_LINES);
    let thread = std::thread::Builder::new()
        .name("contactstore-request-log".into())
        // Not `stderr().lock()` for good: the lock would keep every other `eprintln!`
        // of the process (the shutdown notice) waiting forever. Each flush takes it once.
        .spawn(move || write_lines(&lines, &mut std::io::stderr()))
        .ok()?;
    Some((queue, thread))
}

impl Drop for StderrLog {
    fn drop(&mut self) {
        if let Some((queue, thread)) = self.thread.take().flatten() {
            // Closing the queue ends the thread once it has written what was queued.
            drop(queue);
            let _ = thread.join();
        }
    }
}

/// Writes every line received to `out`, a newline after each, flushing whenever no
/// more are waiting; returns when the queue is closed and empty.
fn write_lines(lines: &Receiver<String>, out: &mut impl Write) {
    let mut buffer = std::io::BufWriter::with_capacity(64 * 1024, out);
    while let Ok(line) = lines.recv() {
        let _ = writeln!(buffer, "{line}");
        while let Ok(more) = lines.try_recv() {
            let _ = writeln!(buffer, "{more}");
        }
        let _ = buffer.flush();
    }
    let _ = buffer.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_queued_line_is_written_in_order_and_flushed() {
        let (sender, lines) = sync_channel(QUEUED_LINES);
        for n in 0..1_000 {
            sender.send(format!("line {n}")).unwrap();
        }
        drop(sender);
        let mut out = Vec::new();
        write_lines(&lines, &mut out);
        let text = String::from_utf8(out).unwrap();
        let expected: String = (0..1_000).map(|n| format!("line {n}\n")).collect();
        assert_eq!(text, expected);
    }

    #[test]
    fn a_line_is_flushed_without_waiting_for_more() {
        let (sender, lines) = sync_channel(QUEUED_LINES);
        let (written, seen) = std::sync::mpsc::channel();
        struct Tell(std::sync::mpsc::Sender<Vec<u8>>, Vec<u8>);
        impl Write for Tell {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.1.extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                let _ = self.0.send(std::mem::take(&mut self.1));
                Ok(())
            }
        }
        let thread =
            std::thread::spawn(move || write_lines(&lines, &mut Tell(written, Vec::new())));
        sender.send("first".into()).unwrap();
        // Flushed while the queue stays open: the line does not wait for the next one.
        let flushed = seen
            .recv_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        assert_eq!(flushed, b"first\n");
        drop(sender);
        thread.join().unwrap();
    }

    #[test]
    fn dropping_the_log_waits_for_its_thread() {
        let log = StderrLog::default();
        log.write("contactstore request log test line".into());
        assert!(log.thread.get().is_some_and(Option::is_some));
        drop(log); // joins: returns only after the line was written
    }
}
