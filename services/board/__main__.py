from services.board.app import create_app
from services.board.settings import BoardSettings
from services.runtime.serve import load_settings, serve

if __name__ == "__main__":
    settings = load_settings(BoardSettings)
    serve("board", create_app(settings), settings)
