package store

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// checkLength refuses an empty data file, and a bbolt file shorter than its
// own header says, before bbolt maps it: bbolt would read the missing pages
// through the mapping and fault. It reads the two meta pages (bbolt's on-disk format version 2: a
// 16-byte page header, then magic, version, page size, flags, root bucket,
// freelist, high-water page id, txid, checksum) and trusts the valid one with
// the higher txid, as bbolt does. Anything that does not parse is left for
// bbolt to diagnose.
func checkLength(path string) error {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		// bbolt would make an empty store of it; but a data file that is
		// there and empty lost what it held (a copy cut short, a disk that
		// filled): starting afresh on it would hide that.
		return newError(ErrCorrupt, nil, fmt.Sprintf(
			"data file %s is empty (0 bytes); it was left unchanged: move it away to start fresh", path))
	}
	var best *metaPage
	m0, ok := readMeta(f, 0)
	if ok {
		best = &m0
	}
	if ok && m0.pageSize > 0 {
		if m1, ok := readMeta(f, int64(m0.pageSize)); ok && m1.txid > m0.txid {
			best = &m1
		}
	}
	if best == nil {
		return nil
	}
	if want := int64(best.pgid) * int64(best.pageSize); fi.Size() < want {
		return newError(ErrCorrupt, nil, fmt.Sprintf(
			"data file %s is truncated (%d bytes, its header says %d); it was left unchanged: move it aside to start fresh",
			path, fi.Size(), want))
	}
	return nil
}

type metaPage struct {
	pageSize uint32
	pgid     uint64
	txid     uint64
}

const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderSize = 16
	metaSumLen     = 56 // bytes of meta covered by its checksum
)

func readMeta(r io.ReaderAt, off int64) (metaPage, bool) {
	var buf [pageHeaderSize + metaSumLen + 8]byte
	if _, err := r.ReadAt(buf[:], off); err != nil {
		return metaPage{}, false
	}
	m := buf[pageHeaderSize:]
	ne := binary.NativeEndian
	if ne.Uint32(m[0:]) != boltMagic || ne.Uint32(m[4:]) != boltVersion {
		return metaPage{}, false
	}
	h := fnv.New64a()
	h.Write(m[:metaSumLen])
	if h.Sum64() != ne.Uint64(m[metaSumLen:]) {
		return metaPage{}, false
	}
	return metaPage{pageSize: ne.Uint32(m[8:]), pgid: ne.Uint64(m[40:]), txid: ne.Uint64(m[48:])}, true
}
