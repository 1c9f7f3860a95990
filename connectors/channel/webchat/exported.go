package webchat

// MaxTextRunes is the most characters of text a player's message from the web chat carries
// (longer text is refused at the page); the router cuts anything longer that reaches it.
const MaxTextRunes = maxTextRunes

// codeImageTooLarge refuses an uploaded image that declares more pixels than pages show
// inline (media.MaxImagePixels), or whose size cannot be read. The page says so in the
// player's language (strings.go); the message, in English, gives the image's size too.
const codeImageTooLarge = "image_too_large"
