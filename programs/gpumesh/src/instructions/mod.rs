pub mod admin;
pub mod emission;
pub mod initialize;
pub mod lease;
pub mod rewards;
pub mod supplier;

pub use admin::*;
pub use emission::*;
pub use initialize::*;
pub use lease::*;
pub use rewards::*;
pub use supplier::*;
