"""The security suite (issue 5): generated permission matrix, attack cases, consistency."""
