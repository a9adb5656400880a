package wire

// DefaultDocURL is the doc_url of every error envelope unless configured.
const DefaultDocURL = "https://docs.usertour.io"
