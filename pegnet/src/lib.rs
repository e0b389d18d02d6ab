//! # pegnet
//!
//! Oracle Price Records and their grading, bit-exact with `pegnet/modules/grader` (the code pegnetd
//! runs): asset lists and versions per network ([`assets`], [`network`]), V1 JSON ([`v1`]) and
//! V2–V5 protobuf ([`proto`]) contents, building a record to mine ([`record`]), validation
//! ([`validate`]) and grading ([`grade`]). Spec: `pegnet-opr.md` §2–§5.

#![warn(missing_docs)]

pub mod assets;
pub mod block_file;
pub mod grade;
pub mod network;
pub mod proto;
pub mod record;
pub mod v1;
pub mod validate;

pub use grade::{reward, GradedBlock, GradedRecord, Grader, GraderError, Pow};
pub use network::Network;
pub use proto::V2Content;
pub use record::{opr_entry, opr_hash, price_to_u64, short_hash, JobFieldsError, OprTemplate};
pub use v1::V1Content;
pub use validate::InvalidRecord;
