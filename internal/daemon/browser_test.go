package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// The status page in a real headless Chromium: it lists the resource and the
// pending proposal; clicking Approve applies the proposal on disk.
func TestStatusPageApproveInChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not installed (run scripts/setup-chromium.sh): %v", chromiumPath, err)
	}
	_, srv, dir, prop := serverWithProposal(t)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()

	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("proposal-"+prop.ID)),
	)
	if err != nil {
		t.Fatal(err)
	}
	resources, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("resources")))
	if err != nil {
		t.Fatal(err)
	}
	proposals, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("proposals")))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("approve-"+prop.ID)), chromedp.WaitVisible(chromedp.ID("message"))); err != nil {
		t.Fatal(err)
	}
	message, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("message")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resources, "service.web") || !strings.Contains(resources, "healthy") {
		t.Errorf("resources table: %q", resources)
	}
	if !strings.Contains(proposals, prop.ID) || !strings.Contains(proposals, "port 18080 is taken") {
		t.Errorf("proposals table: %q", proposals)
	}
	if !strings.Contains(message, "approved") {
		t.Errorf("message after the click: %q", message)
	}
	got, err := GetProposal(dir, prop.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != ProposalApproved {
		t.Errorf("proposal status on disk %q, want approved", got.Status)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "main.cw"))
	if !strings.Contains(string(b), "external = 18081 }] # keep me") {
		t.Errorf("main.cw after the click:\n%s", b)
	}
	if none, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("no-proposals"))); err != nil || none != "None." {
		t.Errorf("page after approve: %q %v", none, err)
	}
}
