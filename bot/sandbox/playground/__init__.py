"""The playground: the sandbox, the real bot, and a terminal chat (or a script) acting as a user.

Lines:
  text                      a message in the current channel
  /cmd sub opt:value ...    a slash command (quote values with spaces: opt:"two words")
  #channel                  switch channel        :as bob      act as another user
  :click N | :click Label   press a button         :select N 1,3   choose options of select N
  :dm text                  DM the bot             :react N 👍     react to message N
  :wait SECONDS             let the bot work       :help  :quit
When the bot opens a modal, each field is asked for in turn (an empty line keeps the default): text as typed,
an option by number or label, ticks as N,N, a checkbox as y/n, users/roles/channels by name, files by path.
"""

from bot.sandbox.playground.lines import Lines
from bot.sandbox.playground.session import main, run
from bot.sandbox.playground.view import Playground

__all__ = ["Lines", "Playground", "main", "run"]
