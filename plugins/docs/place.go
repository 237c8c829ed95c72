package docs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// copyTo copies src to dst, which must not exist, so that dst appears
// whole or not at all: the bytes go to a temporary file in dst's
// directory, are synced, and the file is then linked to dst without
// replacing anything. The temporary name is fixed per job and source, so
// a retry after a crash reuses (truncates) it instead of leaving another.
// It returns fs.ErrExist if dst was taken meanwhile.
func (o *organizer) copyTo(src *source, sum, dst string) error {
	dir := filepath.Dir(dst)
	tmp := filepath.Join(dir, ".batchhost-"+o.journal.key+".tmp")
	if err := o.writeTemp(src, sum, tmp); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	crashPoint("written")
	renamed, err := linkNoReplace(tmp, dst)
	if err != nil {
		if !errors.Is(err, fs.ErrExist) {
			_ = os.Remove(tmp)
		}
		return err
	}
	if !renamed {
		if err := os.Remove(tmp); err != nil {
			return fmt.Errorf("remove %s: %w", tmp, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	crashPoint("placed")
	return nil
}

// writeTemp copies src into tmp with its permission bits and modification
// time, syncs it, and checks on the way that the bytes copied are the ones
// hashed before: a source that changed in between is an error (retryable:
// the next attempt hashes it afresh).
func (o *organizer) writeTemp(src *source, sum, tmp string) error {
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	defer f.Close()
	h := sha256.New()
	r := newMeter(o.ctx, o.job, io.NewSectionReader(src.f, 0, 1<<62), src.size(), "copying", 0.6, 0.95)
	if _, err := io.CopyBuffer(io.MultiWriter(f, h), r, make([]byte, 1<<20)); err != nil {
		return readError(o.ctx, src.path, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != sum {
		return fmt.Errorf("%s changed while it was being copied", src.path)
	}
	if err := f.Chmod(src.info.Mode().Perm()); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	mtime := src.info.ModTime()
	return os.Chtimes(tmp, mtime, mtime)
}

// moveTo moves src to dst, which must not exist. It first journals where
// the document goes (see organizer.run), then hard-links the source to dst
// (or renames it without replacing, where the filesystem has no hard
// links) and removes the source. Across filesystems it copies (as copyTo)
// and removes the source. It returns fs.ErrExist if dst was taken
// meanwhile.
func (o *organizer) moveTo(src *source, sum, category, dst string) error {
	entry := journalEntry{Source: src.path, Destination: dst, Category: category, Size: src.size(), SHA256: sum}
	if err := o.journal.write(entry); err != nil {
		return err
	}
	crashPoint("journaled")
	renamed, err := linkNoReplace(src.path, dst)
	switch {
	case errors.Is(err, syscall.EXDEV):
		if err := o.copyTo(src, sum, dst); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if err := syncDir(filepath.Dir(dst)); err != nil {
			return err
		}
		crashPoint("placed")
	}
	if renamed {
		if err := syncDir(filepath.Dir(src.path)); err != nil {
			return err
		}
	} else if err := removeSource(src.path); err != nil {
		return err
	}
	crashPoint("removed")
	return nil
}

// linkNoReplace gives oldpath's file the name newpath, failing with
// fs.ErrExist if newpath exists: a hard link (oldpath stays), or where the
// filesystem refuses hard links (FAT, some FUSE mounts, Linux's
// protected_hardlinks), an atomic rename that does not replace (oldpath
// goes; renamed is true). A syscall.EXDEV error means they are on
// different filesystems.
func linkNoReplace(oldpath, newpath string) (renamed bool, err error) {
	err = os.Link(oldpath, newpath)
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, fs.ErrExist):
		return false, fs.ErrExist
	case errors.Is(err, syscall.EXDEV):
		return false, err
	}
	rerr := renameNoReplace(oldpath, newpath)
	switch {
	case rerr == nil:
		return true, nil
	case errors.Is(rerr, fs.ErrExist):
		return false, fs.ErrExist
	case errors.Is(rerr, syscall.EXDEV):
		return false, rerr
	}
	return false, fmt.Errorf("link %s to %s: %w (and renaming without replacing failed: %v)", oldpath, newpath, err, rerr)
}

// syncDir makes the entries of dir durable. Filesystems that cannot sync
// a directory are taken at their word.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
