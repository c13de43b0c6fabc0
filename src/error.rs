//! The one error type of the engine: a kind, a stable machine-readable code, a message for people
//! and structured details. The JS layer maps each kind to an `Error` subclass of the same name.

use serde_json::{Map, Value};
use std::fmt;

/// What went wrong, broadly. Each kind becomes a JS class (`ConfigurationError`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Invalid configuration: unknown keys, wrong types, NaN or negative numbers.
    Configuration,
    /// Unknown provider, or a request that no provider format matches.
    Provider,
    /// The compress-cache-retrieve store failed.
    Storage,
    /// A transform failed in a way that could not be turned into a pass-through.
    Compression,
    /// The request itself is malformed: not JSON, wrong shape, unknown role, orphaned tool result.
    Validation,
}

impl ErrorKind {
    /// The JS class name for this kind.
    pub fn class_name(self) -> &'static str {
        match self {
            ErrorKind::Configuration => "ConfigurationError",
            ErrorKind::Provider => "ProviderError",
            ErrorKind::Storage => "StorageError",
            ErrorKind::Compression => "CompressionError",
            ErrorKind::Validation => "ValidationError",
        }
    }
}

/// An engine error. `code` is stable (tests and callers match on it); `message` is for people.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    pub details: Map<String, Value>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Error { kind, code, message: message.into(), details: Map::new() }
    }

    pub fn config(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Configuration, code, message)
    }

    pub fn validation(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, code, message)
    }

    pub fn provider(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Provider, code, message)
    }

    pub fn compression(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Compression, code, message)
    }

    /// Adds one entry to `details`.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }

    /// The error as the JSON object the wasm layer hands to JS:
    /// `{ "name", "code", "message", "details" }`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), Value::from(self.kind.class_name()));
        m.insert("code".into(), Value::from(self.code));
        m.insert("message".into(), Value::from(self.message.clone()));
        m.insert("details".into(), Value::Object(self.details.clone()));
        Value::Object(m)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]: {}", self.kind.class_name(), self.code, self.message)
    }
}

impl std::error::Error for Error {}
