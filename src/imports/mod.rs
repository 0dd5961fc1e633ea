//! Reading province data from spreadsheets: the row layouts an import reads (the answers, which
//! the answers export and the templates also write; units and accounts), independent of the
//! file format.
//!
//! May import: std, `crate::domain`, `crate::error::FieldError`, `crate::scoring::input`,
//! rust_decimal, chrono, serde. No I/O: the file formats are read in `services::imports`.

pub mod directory;
pub mod layout;
pub mod source;
pub mod template;
