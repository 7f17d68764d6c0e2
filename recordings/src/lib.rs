//! Recording for Seduta: per-track working masters and the live audio mix.
//!
//! Work in progress: the building blocks land here one by one.
