/** Which board this page shows (`?board=` in the address; "main" by default). */
const params = new URLSearchParams(location.search)
export const BOARD_NAME = (params.get('board') || 'main').slice(0, 64)
export const BOARD_DOC = `board/${BOARD_NAME}`
