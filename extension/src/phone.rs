//! Phone-number detection, normalization and formatting (being written: issue 3).
