/**
 * MCP23017 register map (datasheet DS20001952C, Tables 3-4 and 3-5) and IOCON bits (Register 3-6).
 *
 * The driver always runs the chip in BANK=0 with sequential addressing (SEQOP=0): registers of
 * port A and port B sit next to each other, so a 16-bit value is one 2-byte transfer, low byte
 * (port A, pins 1-8) first. BANK=1 addresses exist for the simulator and for recovering a chip that
 * other software left in BANK=1.
 */

/** Register names in BANK=0 order. Each has an A (port 0) and a B (port 1) copy. */
export const REGISTER_NAMES = [
  'IODIR', 'IPOL', 'GPINTEN', 'DEFVAL', 'INTCON', 'IOCON', 'GPPU', 'INTF', 'INTCAP', 'GPIO', 'OLAT',
] as const;
export type RegisterName = (typeof REGISTER_NAMES)[number];

/** Number of register addresses (0x00-0x15) in the BANK=0 map. */
export const REGISTER_COUNT = 22;

/** BANK=0 addresses of the port A registers; port B is the next address. */
export const BANK0 = {
  IODIRA: 0x00, IODIRB: 0x01,
  IPOLA: 0x02, IPOLB: 0x03,
  GPINTENA: 0x04, GPINTENB: 0x05,
  DEFVALA: 0x06, DEFVALB: 0x07,
  INTCONA: 0x08, INTCONB: 0x09,
  IOCONA: 0x0a, IOCONB: 0x0b,
  GPPUA: 0x0c, GPPUB: 0x0d,
  INTFA: 0x0e, INTFB: 0x0f,
  INTCAPA: 0x10, INTCAPB: 0x11,
  GPIOA: 0x12, GPIOB: 0x13,
  OLATA: 0x14, OLATB: 0x15,
} as const;

/** BANK=1 addresses: port A registers at 0x00-0x0A, port B registers at 0x10-0x1A. */
export const BANK1 = {
  IODIRA: 0x00, IODIRB: 0x10,
  IPOLA: 0x01, IPOLB: 0x11,
  GPINTENA: 0x02, GPINTENB: 0x12,
  DEFVALA: 0x03, DEFVALB: 0x13,
  INTCONA: 0x04, INTCONB: 0x14,
  IOCONA: 0x05, IOCONB: 0x15,
  GPPUA: 0x06, GPPUB: 0x16,
  INTFA: 0x07, INTFB: 0x17,
  INTCAPA: 0x08, INTCAPB: 0x18,
  GPIOA: 0x09, GPIOB: 0x19,
  OLATA: 0x0a, OLATB: 0x1a,
} as const;

export type Port = 0 | 1;

/** Index (0-10) of a register name in the BANK=0 order. */
export function registerIndex(name: RegisterName): number {
  return REGISTER_NAMES.indexOf(name);
}

/** Address of a register of one port in the given bank. */
export function registerAddress(name: RegisterName, port: Port, bank: 0 | 1 = 0): number {
  const index = registerIndex(name);
  return bank === 0 ? index * 2 + port : index + (port === 1 ? 0x10 : 0);
}

/**
 * Decodes an address in one bank into the register and port it selects, or `undefined` for an
 * unimplemented address (BANK=1: 0x0B-0x0F and above 0x1A; BANK=0: above 0x15).
 */
export function decodeAddress(address: number, bank: 0 | 1): { name: RegisterName; port: Port } | undefined {
  if (bank === 0) {
    if (address < 0 || address >= REGISTER_COUNT) return undefined;
    return { name: REGISTER_NAMES[address >> 1], port: (address & 1) as Port };
  }
  const port: Port = address >= 0x10 ? 1 : 0;
  const index = address - (port === 1 ? 0x10 : 0);
  if (index < 0 || index >= REGISTER_NAMES.length) return undefined;
  return { name: REGISTER_NAMES[index], port };
}

/** IOCON bits (DS §3.5.6). */
export const IOCON = {
  /** 1 = the registers of each port are in separate banks. */
  BANK: 0x80,
  /** 1 = INTA and INTB are internally ORed. */
  MIRROR: 0x40,
  /** 1 = sequential operation DISABLED: the pointer stays put (BANK=1) or swaps A/B (BANK=0), docs/mcp23017.md §3.1. */
  SEQOP: 0x20,
  /** 1 = SDA slew-rate control disabled. */
  DISSLW: 0x10,
  /** MCP23S17 only; a plain read/write bit on the MCP23017. */
  HAEN: 0x08,
  /** 1 = INT pins open-drain (overrides INTPOL). */
  ODR: 0x04,
  /** 1 = INT pins active-high (only when ODR = 0). */
  INTPOL: 0x02,
} as const;

/** Bit 0 of IOCON is unimplemented and reads 0. */
export const IOCON_WRITABLE = 0xfe;

/** Power-on value of each BANK=0 address: IODIR = 0xFF, everything else 0x00. */
export function powerOnValue(address: number): number {
  return address === BANK0.IODIRA || address === BANK0.IODIRB ? 0xff : 0x00;
}

/** Formats a register or address as 0xNN. */
export function hex(value: number, digits = 2): string {
  return '0x' + value.toString(16).toUpperCase().padStart(digits, '0');
}

/** Name of a BANK=0 address, e.g. 0x13 -> "GPIOB". */
export function registerLabel(address: number): string {
  const decoded = decodeAddress(address, 0);
  return decoded ? decoded.name + (decoded.port === 0 ? 'A' : 'B') : hex(address);
}
