//! Tests of the exposition core alone: property tests of the encoders,
//! the validator and the merge against a strict reader of both exposition
//! formats. They build no plugin and start no process.

mod expfmt;
mod properties;
