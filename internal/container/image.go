package container

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// BuildSpec says what image to build.
type BuildSpec struct {
	// Context is the build context directory.
	Context string
	// Dockerfile is the Dockerfile path: relative paths are relative to
	// Context ("Dockerfile" when empty); it may lie outside the context.
	Dockerfile string
	// Tags name the image; at least one is required. Tags[0] is the one the
	// up-to-date check inspects.
	Tags      []string
	BuildArgs map[string]string
	// ContextHash is ContextHash(Context, Dockerfile); computed when empty.
	ContextHash string
	// Labels are extra image labels.
	Labels map[string]string
	// Output receives the build log (discarded when nil).
	Output io.Writer
}

// contextEntry is one file of a build context.
type contextEntry struct {
	rel  string // slash-separated path inside the context
	abs  string
	info fs.FileInfo
	link string // symlink target
}

// resolveDockerfile returns the Dockerfile's absolute path and its path
// inside the context ("" when it lies outside).
func resolveDockerfile(dir, dockerfile string) (abs, rel string, err error) {
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	if !filepath.IsAbs(dockerfile) {
		dockerfile = filepath.Join(dir, dockerfile)
	}
	abs, err = filepath.Abs(dockerfile)
	if err != nil {
		return "", "", err
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", "", err
	}
	r, err := filepath.Rel(absDir, abs)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return abs, "", nil
	}
	return abs, filepath.ToSlash(r), nil
}

// walkContext lists the files of the build context dir that .dockerignore
// does not exclude, sorted by path.
func walkContext(dir string) ([]contextEntry, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("build context %s is not a directory", dir)
	}
	var patterns []string
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, ".dockerignore"), err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read .dockerignore: %w", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ".dockerignore"), err)
	}
	var entries []contextEntry
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		// .dockerignore itself is always sent: the engine needs it.
		if rel != ".dockerignore" && len(patterns) > 0 {
			excluded, err := pm.MatchesOrParentMatches(rel)
			if err != nil {
				return fmt.Errorf("match %s against .dockerignore: %w", rel, err)
			}
			if excluded {
				if d.IsDir() && !pm.Exclusions() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := contextEntry{rel: rel, abs: p, info: info}
		if info.Mode()&fs.ModeSymlink != 0 {
			if e.link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk build context %s: %w", dir, err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].rel < entries[j].rel })
	return entries, nil
}

// ContextHash returns "sha256:<hex>" over the build context dir as the
// engine would see it: the paths .dockerignore does not exclude, with their
// types, permission bits, symlink targets and contents, in sorted order,
// plus the Dockerfile's content (which the engine needs even when excluded).
// Modification times and ownership do not count.
func ContextHash(dir, dockerfile string) (string, error) {
	entries, err := walkContext(dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, e := range entries {
		mode := e.info.Mode()
		switch {
		case mode.IsDir():
			fmt.Fprintf(h, "d %q %o\n", e.rel, mode.Perm())
		case mode&fs.ModeSymlink != 0:
			fmt.Fprintf(h, "l %q %q\n", e.rel, e.link)
		case mode.IsRegular():
			sum, err := fileSHA256(e.abs)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "f %q %o %s\n", e.rel, mode.Perm(), sum)
		default:
			// Sockets, devices, pipes: not sent by the engine's client either.
		}
	}
	dfAbs, _, err := resolveDockerfile(dir, dockerfile)
	if err != nil {
		return "", err
	}
	sum, err := fileSHA256(dfAbs)
	if err != nil {
		return "", fmt.Errorf("dockerfile: %w", err)
	}
	fmt.Fprintf(h, "dockerfile %s\n", sum)
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// outsideDockerfile is the name under which a Dockerfile from outside the
// context (or excluded by .dockerignore) is added to the context tar.
const outsideDockerfile = ".clockwork.Dockerfile"

// writeContextTar writes entries as a tar stream, plus the Dockerfile at
// dfAbs as outsideDockerfile unless dfRel names it among entries.
func writeContextTar(w io.Writer, entries []contextEntry, dfAbs, dfRel string) error {
	tw := tar.NewWriter(w)
	haveDF := false
	for _, e := range entries {
		mode := e.info.Mode()
		if !mode.IsDir() && !mode.IsRegular() && mode&fs.ModeSymlink == 0 {
			continue
		}
		hdr, err := tar.FileInfoHeader(e.info, e.link)
		if err != nil {
			return err
		}
		hdr.Name = e.rel
		if mode.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if mode.IsRegular() {
			if err := copyFile(tw, e.abs); err != nil {
				return err
			}
			if e.rel == dfRel {
				haveDF = true
			}
		}
	}
	if !haveDF {
		info, err := os.Stat(dfAbs)
		if err != nil {
			return fmt.Errorf("dockerfile: %w", err)
		}
		hdr := &tar.Header{Name: outsideDockerfile, Mode: 0o644, Size: info.Size(), Typeflag: tar.TypeReg, ModTime: info.ModTime()}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if err := copyFile(tw, dfAbs); err != nil {
			return err
		}
	}
	return tw.Close()
}

func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// buildHash summarises what besides the context decides the image.
func buildHash(spec BuildSpec) string {
	b, _ := json.Marshal(struct {
		Dockerfile string
		BuildArgs  map[string]string
		Labels     map[string]string
	}{spec.Dockerfile, spec.BuildArgs, spec.Labels})
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// BuildImage builds the image spec describes and returns its ID. The build
// is skipped when the image tagged Tags[0] carries the same context and
// build hashes; missing extra tags are then added.
func (e *Engine) BuildImage(ctx context.Context, spec BuildSpec) (string, error) {
	if len(spec.Tags) == 0 {
		return "", errors.New("build image: at least one tag is required")
	}
	out := spec.Output
	if out == nil {
		out = io.Discard
	}
	ref := spec.Tags[0]
	if spec.ContextHash == "" {
		h, err := ContextHash(spec.Context, spec.Dockerfile)
		if err != nil {
			return "", fmt.Errorf("build image %s: %w", ref, err)
		}
		spec.ContextHash = h
	}
	bh := buildHash(spec)

	if img, err := e.cli.ImageInspect(ctx, ref); err == nil {
		var labels map[string]string
		if img.Config != nil {
			labels = img.Config.Labels
		}
		if labels[LabelContextHash] == spec.ContextHash && labels[LabelBuildHash] == bh {
			for _, t := range spec.Tags[1:] {
				if _, err := e.cli.ImageTag(ctx, client.ImageTagOptions{Source: img.ID, Target: t}); err != nil {
					return "", fmt.Errorf("build image %s: tag %s: %w", ref, t, err)
				}
			}
			fmt.Fprintf(out, "image %s is up to date (%s)\n", ref, spec.ContextHash)
			return img.ID, nil
		}
	} else if !IsNotFound(err) {
		return "", fmt.Errorf("build image %s: inspect: %w", ref, err)
	}

	entries, err := walkContext(spec.Context)
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", ref, err)
	}
	dfAbs, dfRel, err := resolveDockerfile(spec.Context, spec.Dockerfile)
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", ref, err)
	}
	dfName := dfRel
	inTar := false
	for _, en := range entries {
		if en.rel == dfRel && en.info.Mode().IsRegular() {
			inTar = true
			break
		}
	}
	if !inTar {
		dfName = outsideDockerfile
	}

	tarDF := "" // the Dockerfile's name among entries; "" adds it separately
	if inTar {
		tarDF = dfRel
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeContextTar(pw, entries, dfAbs, tarDF))
	}()
	defer pr.Close()

	labels := managedLabels(spec.Labels)
	labels[LabelContextHash] = spec.ContextHash
	labels[LabelBuildHash] = bh
	args := make(map[string]*string, len(spec.BuildArgs))
	for k, v := range spec.BuildArgs {
		args[k] = &v
	}
	res, err := e.cli.ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags:        spec.Tags,
		Dockerfile:  dfName,
		BuildArgs:   args,
		Labels:      labels,
		Remove:      true,
		ForceRemove: true,
	})
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", ref, err)
	}
	defer res.Body.Close()
	auxID, err := readBuildStream(res.Body, out)
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", ref, err)
	}
	img, err := e.cli.ImageInspect(ctx, ref)
	if err != nil {
		if auxID != "" {
			return auxID, nil
		}
		return "", fmt.Errorf("build image %s: inspect after build: %w", ref, err)
	}
	return img.ID, nil
}

// readBuildStream copies the build log to out and returns the image ID the
// engine reported (if any), or the engine's build error.
func readBuildStream(r io.Reader, out io.Writer) (string, error) {
	dec := json.NewDecoder(r)
	var id string
	var tail []string
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return id, nil
			}
			return id, fmt.Errorf("read build output: %w", err)
		}
		if m.Error != nil {
			msg := strings.TrimSpace(m.Error.Message)
			if len(tail) > 0 {
				msg += "\nlast build output:\n" + strings.Join(tail, "\n")
			}
			return "", errors.New(msg)
		}
		if m.Stream != "" {
			io.WriteString(out, m.Stream)
			for _, l := range strings.Split(strings.TrimRight(m.Stream, "\n"), "\n") {
				tail = append(tail, l)
				if len(tail) > 20 {
					tail = tail[1:]
				}
			}
		}
		if m.Status != "" {
			fmt.Fprintln(out, m.Status)
		}
		if m.Aux != nil {
			var aux struct{ ID string }
			if json.Unmarshal(*m.Aux, &aux) == nil && aux.ID != "" {
				id = aux.ID
			}
		}
	}
}

// RemoveImage removes the image tags (untagging when the image has others).
// Tags that do not exist are fine.
func (e *Engine) RemoveImage(ctx context.Context, tags []string) error {
	for _, t := range tags {
		if _, err := e.cli.ImageRemove(ctx, t, client.ImageRemoveOptions{PruneChildren: true}); err != nil && !IsNotFound(err) {
			return fmt.Errorf("remove image %s: %w", t, err)
		}
	}
	return nil
}
