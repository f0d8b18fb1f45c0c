// A ZIP archive (stored, no compression) assembled from Blobs without reading them into
// memory: the archive is itself a Blob whose parts are small headers and the received files
// (disk-backed when they come from OPFS). ZIP64 structures are used where sizes or offsets
// need them, so a 10 GB folder works. Names are UTF-8 (general purpose flag bit 11).
//
// Pure apart from Blob: usable in a page, a worker and Node (>= 18).
// Reference: PKWARE APPNOTE.TXT 6.3.x, sections 4.3 (structure) and 4.5.3 (ZIP64 extra field).

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * Continue a CRC-32 (the one ZIP uses) over `bytes`.
 * @param {Uint8Array} bytes @param {number} [crc] the value so far (0 to start)
 */
export function crc32(bytes, crc = 0) {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32 of a whole Blob, read in slices; `onProgress(bytesDone)` after each. */
export async function crc32OfBlob(blob, onProgress = () => {}, sliceBytes = 8 << 20) {
  let crc = 0;
  for (let offset = 0; offset < blob.size; offset += sliceBytes) {
    const bytes = new Uint8Array(await blob.slice(offset, offset + sliceBytes).arrayBuffer());
    crc = crc32(bytes, crc);
    onProgress(Math.min(blob.size, offset + sliceBytes));
  }
  return crc;
}

const U32_MAX = 0xffffffff;
const UTF8_NAMES = 1 << 11;

/** MS-DOS date and time of a JS time (local time, 2-second resolution, 1980..2107). */
export function dosDateTime(ms) {
  const d = new Date(Math.min(Math.max(ms, Date.UTC(1980, 0, 1, 12)), Date.UTC(2107, 11, 31)));
  const time = (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1);
  const date = ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate();
  return { time, date };
}

class Writer {
  constructor(size) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    this.at = 0;
  }
  u16(v) {
    this.view.setUint16(this.at, v, true);
    this.at += 2;
    return this;
  }
  u32(v) {
    this.view.setUint32(this.at, v >>> 0, true);
    this.at += 4;
    return this;
  }
  u64(v) {
    this.view.setBigUint64(this.at, BigInt(v), true);
    this.at += 8;
    return this;
  }
  raw(bytes) {
    this.bytes.set(bytes, this.at);
    this.at += bytes.length;
    return this;
  }
}

/**
 * @typedef {object} ZipEntry
 * @property {string} path   relative path with '/' separators
 * @property {Blob} data     the file's bytes
 * @property {number} crc    CRC-32 of the bytes (crc32OfBlob)
 * @property {number} mtime  last modified, ms since 1970
 */

/**
 * The parts of a stored ZIP of `entries`, for `new Blob(parts, {type: 'application/zip'})`.
 * @param {ZipEntry[]} entries
 * @param {{forceZip64?: boolean}} [options] (tests use forceZip64 to exercise those records)
 * @returns {(Uint8Array|Blob)[]}
 */
export function zipParts(entries, { forceZip64 = false } = {}) {
  const encoder = new TextEncoder();
  const parts = [];
  const central = [];
  let offset = 0;
  for (const entry of entries) {
    const name = encoder.encode(entry.path);
    const size = entry.data.size;
    const zip64 = forceZip64 || size >= U32_MAX || offset >= U32_MAX;
    const { time, date } = dosDateTime(entry.mtime);
    const version = zip64 ? 45 : 20;
    // Local header: with ZIP64, both sizes are in the extra field and the fields say 0xFFFFFFFF.
    const local = new Writer(30 + name.length + (zip64 ? 20 : 0));
    local.u32(0x04034b50).u16(version).u16(UTF8_NAMES).u16(0).u16(time).u16(date).u32(entry.crc);
    local.u32(zip64 ? U32_MAX : size).u32(zip64 ? U32_MAX : size).u16(name.length).u16(zip64 ? 20 : 0);
    local.raw(name);
    if (zip64) local.u16(0x0001).u16(16).u64(size).u64(size);
    parts.push(local.bytes, entry.data);
    central.push({ name, size, zip64, time, date, version, crc: entry.crc, offset });
    offset += local.bytes.length + size;
  }
  const centralStart = offset;
  for (const e of central) {
    const extra = e.zip64 ? 28 : 0; // original size, compressed size, local header offset
    const header = new Writer(46 + e.name.length + extra);
    header.u32(0x02014b50).u16(0x031e).u16(e.version).u16(UTF8_NAMES).u16(0).u16(e.time).u16(e.date);
    header.u32(e.crc).u32(e.zip64 ? U32_MAX : e.size).u32(e.zip64 ? U32_MAX : e.size);
    header.u16(e.name.length).u16(extra).u16(0).u16(0).u16(0);
    header.u32(0o100644 << 16); // external attributes: a regular file, rw-r--r--
    header.u32(e.zip64 ? U32_MAX : e.offset).raw(e.name);
    if (e.zip64) header.u16(0x0001).u16(24).u64(e.size).u64(e.size).u64(e.offset);
    parts.push(header.bytes);
    offset += header.bytes.length;
  }
  const centralSize = offset - centralStart;
  const count = central.length;
  const zip64End = forceZip64 || count >= 0xffff || centralStart >= U32_MAX || centralSize >= U32_MAX;
  if (zip64End) {
    const record = new Writer(56);
    record.u32(0x06064b50).u64(44).u16(0x031e).u16(45).u32(0).u32(0);
    record.u64(count).u64(count).u64(centralSize).u64(centralStart);
    const locator = new Writer(20);
    locator.u32(0x07064b50).u32(0).u64(offset).u32(1);
    parts.push(record.bytes, locator.bytes);
  }
  const end = new Writer(22);
  end.u32(0x06054b50).u16(0).u16(0);
  end.u16(zip64End ? 0xffff : count).u16(zip64End ? 0xffff : count);
  end.u32(zip64End ? U32_MAX : centralSize).u32(zip64End ? U32_MAX : centralStart).u16(0);
  parts.push(end.bytes);
  return parts;
}
