//! Output formats for lint results.

mod json;
mod text;

pub use json::render as json;
pub use text::render as text;
