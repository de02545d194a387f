package forge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/clockwork-iac/clockwork/internal/contract"
)

// Files forge writes at the top of the build directory.
const (
	manifestFile   = "manifest.json"
	bundleFile     = "bundle.json"
	actionListFile = "actionlist.json"
	factsFile      = "facts.json"
)

// ManifestVersion is the format version of manifest.json.
const ManifestVersion = "1"

// maxMetaSize bounds the JSON files forge reads back (bundle.json holds every
// artifact's content, so it gets the bundle bound).
const maxMetaSize = 64 << 20

// Manifest is .clockwork/build/manifest.json: what forge generated, so a
// later build can tell the user's edits from its own output.
type Manifest struct {
	Version     string `json:"version"`
	Fingerprint string `json:"fingerprint"`
	Compiler    string `json:"compiler"`
	Settings    string `json:"settings"`
	// Artifacts by path, as generated (before any user edit was kept).
	Artifacts map[string]ManifestArtifact `json:"artifacts"`
	// Steps maps each bundle step purpose to the hash of its run as
	// generated, so an edited run in bundle.json is recognised.
	Steps map[string]string `json:"steps,omitempty"`
}

// ManifestArtifact records one generated artifact.
type ManifestArtifact struct {
	SHA256  string `json:"sha256"` // "sha256:<hex>" of the generated content
	Mode    string `json:"mode"`   // generated mode, four octal digits
	Purpose string `json:"purpose"`
}

func hashBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func hashRun(r contract.Run) string {
	b, err := contract.Marshal(r)
	if err != nil { // a Run of strings and ints always encodes
		panic(fmt.Sprintf("encode run: %v", err))
	}
	return hashBytes(b)
}

// normMode renders a validated octal mode string as four digits.
func normMode(s string) string {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return s
	}
	return fmt.Sprintf("%04o", m)
}

func newManifest(gen *contract.Bundle, settings string) *Manifest {
	m := &Manifest{
		Version:     ManifestVersion,
		Fingerprint: gen.Fingerprint,
		Compiler:    gen.Compiler,
		Settings:    settings,
		Artifacts:   make(map[string]ManifestArtifact, len(gen.Artifacts)),
		Steps:       make(map[string]string, len(gen.Steps)),
	}
	for _, a := range gen.Artifacts {
		m.Artifacts[a.Path] = ManifestArtifact{SHA256: hashBytes([]byte(a.Content)), Mode: normMode(a.Mode), Purpose: a.Purpose}
	}
	for _, s := range gen.Steps {
		m.Steps[s.Purpose] = hashRun(s.Run)
	}
	return m
}

// parseManifest decodes manifest.json strictly. Its artifact paths are
// checked like a bundle's: a manifest is as untrusted as anything on disk
// (forge removes files it lists).
func parseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decode manifest: trailing data")
	}
	if m.Version != ManifestVersion {
		return nil, fmt.Errorf("manifest version %q, want %q", m.Version, ManifestVersion)
	}
	for p := range m.Artifacts {
		if probs := pathProblems(p); len(probs) > 0 {
			return nil, fmt.Errorf("manifest lists unsafe path %q: %s", p, probs[0])
		}
	}
	return &m, nil
}

// ReadManifest reads buildDir/manifest.json without following links. It
// returns (nil, nil) when there is none.
func ReadManifest(buildDir string) (*Manifest, error) {
	fsys, err := openBuildDir(buildDir, false)
	if err != nil || fsys == nil {
		return nil, err
	}
	defer fsys.Close()
	return fsys.readManifest()
}

func (b *buildFS) readManifest() (*Manifest, error) {
	df, err := b.read(manifestFile, maxMetaSize)
	if err != nil {
		return nil, err
	}
	if df.problem != "" {
		return nil, &ValidationError{Violations: []Violation{{Rule: df.rule, Artifact: manifestFile, Message: df.problem}}}
	}
	if !df.exists {
		return nil, nil
	}
	m, err := parseManifest(df.content)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", manifestFile, err)
	}
	return m, nil
}
