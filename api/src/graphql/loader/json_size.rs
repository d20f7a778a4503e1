//! The length a value's JSON form would have, counted by walking it with serde without writing
//! it: text adds its length, numbers and dates their longest printed form (so the count is an
//! upper bound), nothing is formatted or escaped. Weighing rows this way instead of with
//! `serde_json::to_writer` into a counter spares the formatting of numbers and dates and the
//! escaping scan on every row a loader hands out.

use std::fmt::Display;

use serde::ser::{self, Serialize};

/// The upper bound on `value`'s JSON length.
pub fn json_size<T: Serialize + ?Sized>(value: &T) -> u64 {
    let mut size = Size(0);
    // Counting cannot fail; a value whose `Serialize` fails weighs what was counted.
    let _ = value.serialize(&mut size);
    size.0
}

struct Size(u64);

type Done = Result<(), serde::de::value::Error>;

impl Size {
    fn add(&mut self, bytes: usize) -> Done {
        self.0 = self.0.saturating_add(bytes as u64);
        Ok(())
    }
}

impl ser::Serializer for &mut Size {
    type Ok = ();
    type Error = serde::de::value::Error;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, _: bool) -> Done {
        self.add(5)
    }
    fn serialize_i8(self, _: i8) -> Done {
        self.add(4)
    }
    fn serialize_i16(self, _: i16) -> Done {
        self.add(6)
    }
    fn serialize_i32(self, _: i32) -> Done {
        self.add(11)
    }
    fn serialize_i64(self, _: i64) -> Done {
        self.add(20)
    }
    fn serialize_u8(self, _: u8) -> Done {
        self.add(3)
    }
    fn serialize_u16(self, _: u16) -> Done {
        self.add(5)
    }
    fn serialize_u32(self, _: u32) -> Done {
        self.add(10)
    }
    fn serialize_u64(self, _: u64) -> Done {
        self.add(20)
    }
    fn serialize_f32(self, _: f32) -> Done {
        self.add(16)
    }
    fn serialize_f64(self, _: f64) -> Done {
        self.add(24)
    }
    fn serialize_char(self, _: char) -> Done {
        self.add(8)
    }
    /// Quotes and the text; escapes (a quote, a control character) are rare enough in data to
    /// leave out, and the per-field allowance covers them.
    fn serialize_str(self, text: &str) -> Done {
        self.add(text.len() + 2)
    }
    fn serialize_bytes(self, bytes: &[u8]) -> Done {
        self.add(bytes.len() * 4 + 2)
    }
    fn serialize_none(self) -> Done {
        self.add(4)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        self.add(4)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Done {
        self.add(4)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Done {
        self.add(variant.len() + 2)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Done {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Done {
        self.add(variant.len() + 5)?;
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Self::Error> {
        self.add(2)?;
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Self::Error> {
        self.add(2)?;
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Self::Error> {
        self.add(2)?;
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, Self::Error> {
        self.add(variant.len() + 7)?;
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Self::Error> {
        self.add(2)?;
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Self::Error> {
        self.add(2)?;
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, Self::Error> {
        self.add(variant.len() + 7)?;
        Ok(self)
    }
    /// Dates and times (chrono writes them this way): their longest RFC 3339 form, with
    /// nanoseconds and an offset, quoted.
    fn collect_str<T: Display + ?Sized>(self, _: &T) -> Done {
        self.add(40)
    }
}

impl ser::SerializeSeq for &mut Size {
    type Ok = ();
    type Error = serde::de::value::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        self.add(1)?;
        value.serialize(&mut **self)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

impl ser::SerializeTuple for &mut Size {
    type Ok = ();
    type Error = serde::de::value::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for &mut Size {
    type Ok = ();
    type Error = serde::de::value::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

impl ser::SerializeTupleVariant for &mut Size {
    type Ok = ();
    type Error = serde::de::value::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

impl ser::SerializeMap for &mut Size {
    type Ok = ();
    type Error = serde::de::value::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Done {
        self.add(2)?;
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        value.serialize(&mut **self)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

impl ser::SerializeStruct for &mut Size {
    type Ok = ();
    type Error = serde::de::value::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Done {
        self.add(key.len() + 4)?;
        value.serialize(&mut **self)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

impl ser::SerializeStructVariant for &mut Size {
    type Ok = ();
    type Error = serde::de::value::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Done {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Done {
        Ok(())
    }
}
