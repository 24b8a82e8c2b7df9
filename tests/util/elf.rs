//! Reads just enough of an ELF file to tell whether a binary is static (no
//! program interpreter) and stripped (no symbol table): the two words of the
//! size budget. Little-endian ELF only (x86_64 and every ARM target we build).

/// `PT_INTERP`: the program header naming the dynamic loader.
const PT_INTERP: u32 = 3;
/// `SHT_SYMTAB`: the section holding the full symbol table.
const SHT_SYMTAB: u32 = 2;

/// Where the program and section header tables are, and their shape.
struct Tables {
    ph_off: usize,
    ph_size: usize,
    ph_num: usize,
    sh_off: usize,
    sh_size: usize,
    sh_num: usize,
}

/// True if the ELF image has no `PT_INTERP`: nothing is loaded at start.
pub fn is_static(elf: &[u8]) -> bool {
    let t = tables(elf);
    (0..t.ph_num).all(|i| u32_at(elf, t.ph_off + i * t.ph_size) != PT_INTERP)
}

/// True if the ELF image has no `.symtab` section.
pub fn is_stripped(elf: &[u8]) -> bool {
    let t = tables(elf);
    (0..t.sh_num).all(|i| u32_at(elf, t.sh_off + i * t.sh_size + 4) != SHT_SYMTAB)
}

fn tables(elf: &[u8]) -> Tables {
    assert!(
        elf.len() >= 64 && elf.starts_with(b"\x7fELF"),
        "not an ELF file"
    );
    assert_eq!(elf[5], 1, "not a little-endian ELF file");
    match elf[4] {
        // ELFCLASS32
        1 => Tables {
            ph_off: u32_at(elf, 0x1c) as usize,
            sh_off: u32_at(elf, 0x20) as usize,
            ph_size: u16_at(elf, 0x2a),
            ph_num: u16_at(elf, 0x2c),
            sh_size: u16_at(elf, 0x2e),
            sh_num: u16_at(elf, 0x30),
        },
        // ELFCLASS64
        2 => Tables {
            ph_off: u64_at(elf, 0x20) as usize,
            sh_off: u64_at(elf, 0x28) as usize,
            ph_size: u16_at(elf, 0x36),
            ph_num: u16_at(elf, 0x38),
            sh_size: u16_at(elf, 0x3a),
            sh_num: u16_at(elf, 0x3c),
        },
        c => panic!("unknown ELF class {c}"),
    }
}

fn u16_at(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes(b[at..at + 2].try_into().expect("2 bytes")) as usize
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
