//! Reports of concern (orosanmälan).

pub mod deadlines;
