//! Python binary file objects as Rust readers and writers, for import and export.
//!
//! The library runs with the GIL released; these adapters take it back only for
//! each chunk they read or write (64 KiB), so a long import from a file object lets
//! other Python threads run between chunks. A Python exception from `read` or `write`
//! becomes an I/O error of the import or export (its text is not kept: it could
//! quote data).

use std::io::{self, BufRead, Read, Write};
use std::path::PathBuf;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

const CHUNK: usize = 64 * 1024;

/// Where an import reads from.
pub(crate) enum Source {
    Path(PathBuf),
    File(PyReader),
}

impl Source {
    /// A `str` or `os.PathLike` is a path; anything with `read` is a file object.
    pub(crate) fn new(source: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Some(path) = as_path(source)? {
            return Ok(Source::Path(path));
        }
        if source.hasattr("read")? {
            return Ok(Source::File(PyReader {
                file: source.clone().unbind(),
                buffer: Vec::new(),
                position: 0,
            }));
        }
        Err(PyTypeError::new_err(
            "source must be a path or a binary file object opened for reading",
        ))
    }
}

/// Where an export writes to.
pub(crate) enum Target {
    Path(PathBuf),
    File(PyWriter),
}

impl Target {
    /// A `str` or `os.PathLike` is a path; anything with `write` is a file object.
    pub(crate) fn new(target: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Some(path) = as_path(target)? {
            return Ok(Target::Path(path));
        }
        if target.hasattr("write")? {
            return Ok(Target::File(PyWriter {
                file: target.clone().unbind(),
                buffer: Vec::with_capacity(CHUNK),
            }));
        }
        Err(PyTypeError::new_err(
            "target must be a path or a binary file object opened for writing",
        ))
    }
}

fn as_path(value: &Bound<'_, PyAny>) -> PyResult<Option<PathBuf>> {
    if value.is_instance_of::<PyString>() || value.hasattr("__fspath__")? {
        return value.extract::<PathBuf>().map(Some);
    }
    Ok(None)
}

fn python_failed(e: &PyErr) -> io::Error {
    let _ = e;
    io::Error::other("the file object failed")
}

/// A Python binary file object read in chunks.
pub(crate) struct PyReader {
    file: Py<PyAny>,
    buffer: Vec<u8>,
    position: usize,
}

impl Read for PyReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for PyReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.position >= self.buffer.len() {
            self.buffer = Python::attach(|py| -> io::Result<Vec<u8>> {
                let chunk = self
                    .file
                    .bind(py)
                    .call_method1("read", (CHUNK,))
                    .map_err(|e| python_failed(&e))?;
                if let Ok(bytes) = chunk.cast::<PyBytes>() {
                    Ok(bytes.as_bytes().to_vec())
                } else if let Ok(bytes) = chunk.cast::<PyByteArray>() {
                    Ok(bytes.to_vec())
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the file object is not binary",
                    ))
                }
            })?;
            self.position = 0;
        }
        Ok(&self.buffer[self.position..])
    }

    fn consume(&mut self, amount: usize) {
        self.position = (self.position + amount).min(self.buffer.len());
    }
}

/// A Python binary file object written in chunks.
pub(crate) struct PyWriter {
    file: Py<PyAny>,
    buffer: Vec<u8>,
}

impl PyWriter {
    fn write_out(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        Python::attach(|py| {
            self.file
                .bind(py)
                .call_method1("write", (PyBytes::new(py, &self.buffer),))
                .map(drop)
                .map_err(|e| python_failed(&e))
        })?;
        self.buffer.clear();
        Ok(())
    }
}

impl Write for PyWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.write_out()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_out()?;
        Python::attach(|py| {
            let file = self.file.bind(py);
            if file.hasattr("flush").map_err(|e| python_failed(&e))? {
                file.call_method0("flush").map_err(|e| python_failed(&e))?;
            }
            Ok(())
        })
    }
}
