"""Stand-ins for the outside services Firebreak talks to, as real HTTP servers on 127.0.0.1."""
