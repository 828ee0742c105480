package forge

// maxPages bounds a listing, so that a forge answering "next page" forever cannot hold the
// caller: 100 pages of 50 to 100 items is more than any pull request has comments.
const maxPages = 100

// pages collects a paginated listing. fetch returns one page's items and the next page's
// number, 0 after the last page. Items fetched before an error are returned with it.
func pages[T any](fetch func(page int) ([]T, int, error)) ([]T, error) {
	var out []T
	page := 1
	for range maxPages {
		items, next, err := fetch(page)
		out = append(out, items...)
		if err != nil {
			return out, err
		}
		if next <= page {
			return out, nil
		}
		page = next
	}
	return out, nil
}
