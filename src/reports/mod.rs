//! Reports of concern (orosanmälan).

pub mod deadlines;
pub mod model;
pub mod store;
