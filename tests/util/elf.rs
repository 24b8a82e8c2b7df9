//! Test support: just enough of an ELF reader to say what a release binary
//! is, from its bytes: 32 or 64 bits, which machine, the ARM EABI flags,
//! whether it asks for a dynamic loader (PT_INTERP) or shared libraries
//! (DT_NEEDED), whether it keeps a symbol table (SHT_SYMTAB: not
//! stripped), and the ARM architecture it was built for (Tag_CPU_arch in
//! `.ARM.attributes`). Little-endian files only (every target is).
//! Every read is bounds-checked: a malformed file is an `Err`, not a panic.

pub const EM_ARM: u16 = 40;
pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;

const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const SHT_SYMTAB: u32 = 2;

/// What the header, program headers and section headers say.
#[derive(Debug)]
pub struct Elf {
    pub class64: bool,
    pub e_type: u16,
    pub machine: u16,
    pub flags: u32,
    /// PT_INTERP is present: the kernel would load a dynamic loader first.
    pub interp: bool,
    /// DT_NEEDED entries in PT_DYNAMIC (shared libraries wanted).
    pub needed: usize,
    /// A `.symtab` section is there: the binary is not stripped.
    pub symtab: bool,
    /// Tag_CPU_arch of `.ARM.attributes` (6 = v6, 7 = v6KZ, 10 = v7...).
    pub arm_cpu_arch: Option<u64>,
}

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn slice(&self, off: u64, len: u64) -> Result<&[u8], String> {
        let start = usize::try_from(off).map_err(|_| "offset too large")?;
        let len = usize::try_from(len).map_err(|_| "length too large")?;
        self.0
            .get(start..start.checked_add(len).ok_or("overflow")?)
            .ok_or_else(|| format!("{len} bytes at {start} are past the end"))
    }
    fn u16(&self, off: u64) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.slice(off, 2)?.try_into().unwrap()))
    }
    fn u32(&self, off: u64) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.slice(off, 4)?.try_into().unwrap()))
    }
    fn u64(&self, off: u64) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.slice(off, 8)?.try_into().unwrap()))
    }
    /// A word: 8 bytes in ELF64, 4 in ELF32.
    fn word(&self, off: u64, class64: bool) -> Result<u64, String> {
        if class64 {
            self.u64(off)
        } else {
            self.u32(off).map(u64::from)
        }
    }
}

pub fn parse(data: &[u8]) -> Result<Elf, String> {
    let b = Bytes(data);
    if b.slice(0, 4)? != b"\x7fELF" {
        return Err("no ELF magic".into());
    }
    let class64 = match b.slice(4, 1)?[0] {
        1 => false,
        2 => true,
        c => return Err(format!("EI_CLASS {c}")),
    };
    if b.slice(5, 1)?[0] != 1 {
        return Err("not little-endian (EI_DATA)".into());
    }
    let e_type = b.u16(16)?;
    let machine = b.u16(18)?;
    // Offsets of e_phoff.. differ between the classes (word-sized fields).
    let (phoff, shoff, flags, rest) = if class64 {
        (b.u64(32)?, b.u64(40)?, b.u32(48)?, 52)
    } else {
        (u64::from(b.u32(28)?), u64::from(b.u32(32)?), b.u32(36)?, 40)
    };
    let phentsize = u64::from(b.u16(rest + 2)?);
    let phnum = u64::from(b.u16(rest + 4)?);
    let shentsize = u64::from(b.u16(rest + 6)?);
    let shnum = u64::from(b.u16(rest + 8)?);
    let shstrndx = u64::from(b.u16(rest + 10)?);

    let mut interp = false;
    let mut needed = 0;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let p_type = b.u32(ph)?;
        let (offset, filesz) = if class64 {
            (b.u64(ph + 8)?, b.u64(ph + 32)?)
        } else {
            (u64::from(b.u32(ph + 4)?), u64::from(b.u32(ph + 16)?))
        };
        match p_type {
            PT_INTERP => interp = true,
            PT_DYNAMIC => {
                let entry = if class64 { 16 } else { 8 };
                let half = entry / 2;
                for e in 0..filesz / entry {
                    let tag = b.word(offset + e * entry, class64)?;
                    if tag == DT_NULL {
                        break;
                    }
                    if tag == DT_NEEDED {
                        needed += 1;
                    }
                    let _ = b.word(offset + e * entry + half, class64)?;
                }
            }
            _ => {}
        }
    }

    // Sections (a stripped binary keeps its section headers).
    let mut arm_cpu_arch = None;
    let mut symtab = false;
    if shoff != 0 && shnum != 0 {
        let section = |i: u64| -> Result<(u32, u64, u64), String> {
            let sh = shoff + i * shentsize;
            let name = b.u32(sh)?;
            if class64 {
                Ok((name, b.u64(sh + 24)?, b.u64(sh + 32)?))
            } else {
                Ok((name, u64::from(b.u32(sh + 16)?), u64::from(b.u32(sh + 20)?)))
            }
        };
        let (_, stroff, strsize) = section(shstrndx)?;
        let strtab = b.slice(stroff, strsize)?;
        for i in 0..shnum {
            let (name, off, size) = section(i)?;
            let name = strtab
                .get(name as usize..)
                .and_then(|s| s.split(|&c| c == 0).next())
                .unwrap_or_default();
            if b.u32(shoff + i * shentsize + 4)? == SHT_SYMTAB {
                symtab = true;
            }
            if name == b".ARM.attributes" {
                arm_cpu_arch = cpu_arch(b.slice(off, size)?)?;
            }
        }
    }

    Ok(Elf {
        class64,
        e_type,
        machine,
        flags,
        interp,
        needed,
        symtab,
        arm_cpu_arch,
    })
}

/// Tag_CPU_arch from the "aeabi" subsection of `.ARM.attributes`
/// (ARM IHI 0045, "Addenda to the ARM ABI", build attributes).
fn cpu_arch(sec: &[u8]) -> Result<Option<u64>, String> {
    if sec.first() != Some(&b'A') {
        return Err(".ARM.attributes: not format version A".into());
    }
    let b = Bytes(sec);
    let mut pos = 1u64;
    while pos < sec.len() as u64 {
        let len = u64::from(b.u32(pos)?);
        if len < 4 {
            return Err(".ARM.attributes: bad subsection length".into());
        }
        let sub = b.slice(pos + 4, len - 4)?;
        pos += len;
        let Some(nul) = sub.iter().position(|&c| c == 0) else {
            return Err(".ARM.attributes: unterminated vendor name".into());
        };
        if &sub[..nul] != b"aeabi" {
            continue;
        }
        let sb = Bytes(sub);
        let mut p = nul as u64 + 1;
        while p < sub.len() as u64 {
            let kind = sb.slice(p, 1)?[0];
            let size = u64::from(sb.u32(p + 1)?);
            if size < 5 {
                return Err(".ARM.attributes: bad attribute block size".into());
            }
            if kind == 1 {
                // Tag_File: attributes of the whole file.
                if let Some(arch) = file_attribute(sb.slice(p + 5, size - 5)?, 6)? {
                    return Ok(Some(arch));
                }
            }
            p += size;
        }
    }
    Ok(None)
}

/// The integer value of attribute `want` in a Tag_File block.
fn file_attribute(mut attrs: &[u8], want: u64) -> Result<Option<u64>, String> {
    while !attrs.is_empty() {
        let tag = uleb(&mut attrs)?;
        // Strings: Tag_CPU_raw_name (4), Tag_CPU_name (5), and odd tags
        // above 32; Tag_compatibility (32) is an integer then a string;
        // everything else is an integer.
        let string = tag == 4 || tag == 5 || (tag > 32 && tag % 2 == 1);
        if string {
            ntbs(&mut attrs)?;
            continue;
        }
        let value = uleb(&mut attrs)?;
        if tag == 32 {
            ntbs(&mut attrs)?;
        }
        if tag == want {
            return Ok(Some(value));
        }
    }
    Ok(None)
}

fn uleb(data: &mut &[u8]) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = data.split_first().ok_or("truncated ULEB128")?;
        *data = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("ULEB128 too long".into())
}

fn ntbs(data: &mut &[u8]) -> Result<(), String> {
    let nul = data
        .iter()
        .position(|&c| c == 0)
        .ok_or("unterminated string")?;
    *data = &data[nul + 1..];
    Ok(())
}

impl Elf {
    /// Nothing to load at start: no dynamic loader, no shared library.
    pub fn is_static(&self) -> bool {
        !self.interp && self.needed == 0
    }
}
