package ui_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// browserRemoveAccount adds a throwaway account from the accounts page,
// signs it in over HTTP, removes it through the page's confirmation step
// and finds its session ended.
func browserRemoveAccount(t *testing.T, ctx context.Context, e *env, dir string) {
	base := e.node.Endpoint()
	do(t, ctx, "add a throwaway account",
		chromedp.Navigate(base+"/ui/accounts"), chromedp.WaitVisible(chromedp.CSS("#account-name")),
		chromedp.SendKeys(chromedp.CSS("#account-name"), "throwaway"),
		chromedp.Click(chromedp.CSS("#add-account")),
		chromedp.WaitVisible(chromedp.CSS("#new-key")))
	temp := e.login(t, text(t, ctx, "#new-access-key"), text(t, ctx, "#new-secret-key"))
	do(t, ctx, "ask to remove it",
		chromedp.Click(chromedp.CSS("#remove-throwaway")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-remove")))
	shoot(t, ctx, dir, "account-remove")
	do(t, ctx, "remove it",
		chromedp.Click(chromedp.CSS("#confirm-remove")),
		chromedp.WaitVisible(chromedp.CSS("p.notice")))
	if n := text(t, ctx, "p.notice"); n != "Removed throwaway: its keys no longer work and its sessions have ended." {
		t.Errorf("after the removal: %q", n)
	}
	if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("remove-throwaway") === null`)); !ok {
		t.Errorf("the accounts page still lists the removed account")
	}
	shoot(t, ctx, dir, "accounts-removed")
	if code, _ := temp.get("/ui/buckets"); code != http.StatusSeeOther {
		t.Errorf("the removed account's cookie: %d, want a redirect to sign in", code)
	}
}
